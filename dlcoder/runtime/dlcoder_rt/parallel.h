// Optional threads through a caller-supplied parallel-for.
//
// The library owns no threads. A caller who wants them passes a `dlcoder_parallel_for`
// (any thread pool can provide one; thread_pool.h has a small one). The heavy kernels
// (GEMM, convolutions, depthwise chains) split their output rows, or a GEMM's column
// panels when it has too few rows, into at most `threads` contiguous tasks. A task
// computes whole output elements with the same instructions in the same order as the
// serial kernel, so results are bit-identical for every thread count.
//
// Scratch: task 0 uses the node's planned scratch; task 1 uses `slot`, which the generator
// plans per node into a gap of the arena at that step where one fits (`at`), else past the
// arena; task t > 1 uses slot t-2 of the `stride`-byte slots past that
// (NAME_arena_size_threads accounts for them).
#pragma once

#include "dlcoder_rt/common.h"

extern "C" {
#ifndef DLCODER_PARALLEL_FOR_DEFINED
#define DLCODER_PARALLEL_FOR_DEFINED
typedef void (*dlcoder_task_fn)(void* ctx, int32_t task);
typedef void (*dlcoder_parallel_for)(void* user, int32_t n, dlcoder_task_fn fn, void* ctx);
#endif
}

namespace dlcoder_rt {

struct Parallel {
  dlcoder_parallel_for pfor;  // null: tasks run inline, one after the other
  void* user;                 // pfor's first argument
  int32_t threads;            // tasks that may run at once (>= 1)
  uint8_t* slot;              // scratch of task 1
  uint8_t* extra;             // scratch slots of tasks 2 .. threads-1
  int64_t stride;             // bytes per slot

  // The same, with task 1's scratch at `s` (a node's own slot in the arena).
  Parallel at(uint8_t* s) const {
    Parallel q = *this;
    q.slot = s;
    return q;
  }

  // Task t's scratch: `own` (the node's planned scratch) for task 0.
  template <typename T>
  T* scratch(T* own, int32_t task) const {
    if (task == 0) return own;
    return reinterpret_cast<T*>(task == 1 ? slot : extra + (task - 2) * stride);
  }
};

// Work below this many multiply-adds per task is not worth waking a thread for (about
// 2 us on one core here, against about 1 us for a spinning pool to hand a task over).
// The tests set it to 1 so that even tiny kernels split.
#ifndef DLCODER_RT_MIN_TASK_MACS
#define DLCODER_RT_MIN_TASK_MACS 65536
#endif
constexpr int64_t kMinTaskMacs = DLCODER_RT_MIN_TASK_MACS;

// How many tasks to cut `units` independent pieces of work into, `macs` multiply-adds in all.
inline int32_t task_count(const Parallel& par, int64_t units, int64_t macs) {
  if (par.pfor == nullptr || par.threads <= 1) return 1;
  int64_t n = macs / kMinTaskMacs;
  n = std::min<int64_t>(n, units);
  n = std::min<int64_t>(n, par.threads);
  return n < 1 ? 1 : static_cast<int32_t>(n);
}

// Task t's share [lo, hi) of [0, units), tasks differing by at most one unit.
inline void task_range(int64_t units, int32_t tasks, int32_t t, int64_t* lo, int64_t* hi) {
  const int64_t base = units / tasks, rest = units % tasks;
  *lo = t * base + std::min<int64_t>(t, rest);
  *hi = *lo + base + (t < rest ? 1 : 0);
}

// Calls f(t) for t in [0, tasks), through the caller's parallel-for when there is one.
template <typename F>
inline void parallel_for(const Parallel& par, int32_t tasks, const F& f) {
  if (tasks <= 1 || par.pfor == nullptr) {
    for (int32_t t = 0; t < tasks; ++t) f(t);
    return;
  }
  par.pfor(par.user, tasks, [](void* ctx, int32_t t) { (*static_cast<const F*>(ctx))(t); },
           const_cast<F*>(&f));
}

// Splits [0, units) into task_count(par, units, macs) ranges and calls f(t, lo, hi) for each.
template <typename F>
inline void parallel_ranges(const Parallel& par, int64_t units, int64_t macs, const F& f) {
  const int32_t tasks = task_count(par, units, macs);
  parallel_for(par, tasks, [&](int32_t t) {
    int64_t lo, hi;
    task_range(units, tasks, t, &lo, &hi);
    if (lo < hi) f(t, lo, hi);
  });
}

}  // namespace dlcoder_rt
