// dlcoder runtime: the persistent part of the arena, where a model keeps its state from
// one run to the next (resource variables, and whether CALL_ONCE has run).
//
// Layout, at the start of the arena (the planner places nothing there):
//   bytes 0..7     kStateMagic once NAME_reset (or the first run) has set the state up
//   then           one flag byte per CALL_ONCE node (1: its init subgraph has run) and
//                  one per variable (1: assigned), in the order the generator lists them
//   64-aligned     each variable's value
// A run that finds no magic word resets first, so an arena nobody reset (the built-in
// static one, or a fresh buffer) starts where a fresh TFLite interpreter does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dlcoder_rt/status.h"

namespace dlcoder_rt {

constexpr uint64_t kStateMagic = 0x646c636f64657231ULL;   // "dlcoder1"

inline bool state_ready(const uint8_t* arena) {
  uint64_t word;
  std::memcpy(&word, arena, sizeof word);
  return word == kStateMagic;
}

// Every flag and variable to zero: the next run starts a new stream.
inline void state_reset(uint8_t* arena, size_t bytes) {
  std::memset(arena, 0, bytes);
  std::memcpy(arena, &kStateMagic, sizeof kStateMagic);
}

// READ_VARIABLE: kStatusUnsetVariable for a variable no ASSIGN_VARIABLE has written since
// the reset, where TFLite's Invoke fails too.
inline int read_variable(uint8_t* arena, size_t flag, size_t offset, void* dst, size_t bytes) {
  if (arena[flag] == 0) return kStatusUnsetVariable;
  std::memcpy(dst, arena + offset, bytes);
  return kStatusOk;
}

inline void assign_variable(uint8_t* arena, size_t flag, size_t offset, const void* src, size_t bytes) {
  std::memmove(arena + offset, src, bytes);
  arena[flag] = 1;
}

}  // namespace dlcoder_rt
