// dlcoder runtime: what NAME_run returns. 1 to 3 are the C API's own checks (model.h);
// the others stop a run where TFLite's Invoke fails, before anything is read or written
// out of bounds.
#pragma once

namespace dlcoder_rt {

constexpr int kStatusOk = 0;
// an index that GATHER, GATHER_ND or another indexing op reads lies outside its axis
constexpr int kStatusIndexOutOfRange = 4;
// a shape computed at run time differs from the one the library was generated for
constexpr int kStatusShapeMismatch = 5;
// READ_VARIABLE of a resource variable that nothing has assigned since the reset
constexpr int kStatusUnsetVariable = 6;
// a divisor is 0 where TFLite checks ("Division by 0": FLOOR_DIV, and DIV and FLOOR_MOD
// on integers), or a RANGE delta is 0
constexpr int kStatusDivisionByZero = 7;

}  // namespace dlcoder_rt
