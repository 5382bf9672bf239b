// Instruction-set selection, in one place.
//
// x86-64: kernels exist for AVX-512 (F+VL), AVX2+FMA and SSE2, each compiled with a
// target pragma so that a library built with plain -O2 still has them; the best one the
// CPU supports is picked at run time with cpuid (__builtin_cpu_supports). aarch64: NEON,
// the baseline there. Anything else: portable scalar code.
// -DDLCODER_RT_FORCE_ISA=<n> (values of Isa) forces one path, for tests of each variant.
//
// Building for one CPU: every runtime_* answer below can be fixed when the library is
// compiled, and then the paths that CPU never takes are not compiled at all (half the
// compile time and code of a float model). -DDLCODER_RT_FORCE_ISA=<n>,
// -DDLCODER_RT_FORCE_BW=0|1, -DDLCODER_RT_FORCE_VBMI=0|1, -DDLCODER_RT_FORCE_DOT=0|1 and
// -DDLCODER_RT_FORCE_AMX=0 fix them (dlcoder verify passes the host CPU's: verify.py,
// host_only_flags), and so does a compiler target that guarantees a feature
// (-march=x86-64-v4 or native, -mavx512bw, -march=armv8.2-a+dotprod, ...): code built
// for it may use the feature anywhere, so it runs on no CPU without it.
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
#define DLCODER_RT_X86 1
// GCC before 13 warns inside its own AVX-512 headers (the self-initialised __Y of
// _mm512_undefined_*, GCC bug 105593) wherever the kernels inline them; the warnings
// belong to those header lines, so they are silenced where the headers are read.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#include <cpuid.h>
#if defined(__linux__) && (defined(__clang__) || __GNUC__ >= 11)
// AMX: intrinsics in the compiler, and a way to ask Linux for the tile data state
#define DLCODER_RT_AMX 1
#include <sys/syscall.h>
#include <unistd.h>
#endif
#elif defined(__aarch64__)
#define DLCODER_RT_NEON 1
#include <arm_neon.h>
#if defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#endif

namespace dlcoder_rt {

enum class Isa : int { kScalar = 0, kSse2 = 1, kAvx2 = 2, kAvx512 = 3, kNeon = 4 };

// F16C (vcvtph2ps), from CPUID leaf 1, ECX bit 29: GCC's __builtin_cpu_supports does not
// report it and clang's does not know it.
inline bool runtime_f16c() {
#if defined(DLCODER_RT_X86)
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) != 0 && ((c >> 29) & 1u) != 0;
#else
  return false;
#endif
}

inline Isa runtime_isa() {
#if defined(DLCODER_RT_FORCE_ISA)
  return static_cast<Isa>(DLCODER_RT_FORCE_ISA);
#elif defined(DLCODER_RT_X86) && defined(__AVX512F__) && defined(__AVX512VL__)
  return Isa::kAvx512;
#elif defined(DLCODER_RT_X86)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) return Isa::kAvx512;
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
  return Isa::kAvx2;
#else
  // F16C too (float16 weights, simd.h: load_half): every AVX2 CPU has it
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && runtime_f16c()) return Isa::kAvx2;
  return Isa::kSse2;
#endif
#elif defined(DLCODER_RT_NEON)
  return Isa::kNeon;
#else
  return Isa::kScalar;
#endif
}

// ---- integer extensions of the quantized kernels (simd_qlinear.h) ----------------------
// x86: AVX-512 BW (their byte and word instructions; every AVX-512 CPU but Knights Landing
// has it) and VNNI (vpdpbusd). aarch64: the dot-product instructions (sdot/udot), which
// Linux reports in AT_HWCAP. runtime_isa() above is unchanged by them; the quantized
// kernels take them as sub-choices of its AVX-512 and NEON paths.
// -DDLCODER_RT_FORCE_DOT=0|1 forces the dot-product query (VNNI on x86, dotprod on aarch64)
// off or on, for tests of both variants.
inline bool runtime_avx512bw() {
#if defined(DLCODER_RT_FORCE_BW)
  return DLCODER_RT_FORCE_BW != 0;
#elif defined(__AVX512BW__)
  return true;
#elif defined(DLCODER_RT_X86)
  return __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

// AVX-512 VBMI (vpermb, vpermi2b: byte permutes across a whole vector; simd_lut.h), a
// sub-choice of the AVX-512 path like the two above.
inline bool runtime_avx512vbmi() {
#if defined(DLCODER_RT_FORCE_VBMI)
  return DLCODER_RT_FORCE_VBMI != 0;
#elif defined(__AVX512VBMI__)
  return true;
#elif defined(DLCODER_RT_X86)
  return __builtin_cpu_supports("avx512vbmi");
#else
  return false;
#endif
}

// The ISA of the byte (int8/uint8) kernels: runtime_isa(), except that an AVX-512 CPU
// without BW (Knights Landing) runs their AVX2 versions.
inline Isa runtime_byte_isa() {
  const Isa isa = runtime_isa();
  return isa == Isa::kAvx512 && !runtime_avx512bw() ? Isa::kAvx2 : isa;
}

inline bool runtime_int8_dot() {
#if defined(DLCODER_RT_FORCE_DOT)
  return DLCODER_RT_FORCE_DOT != 0;
#elif (defined(__AVX512VNNI__) && defined(__AVX512BW__)) || defined(__ARM_FEATURE_DOTPROD)
  return true;
#elif defined(DLCODER_RT_X86)
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#elif defined(DLCODER_RT_NEON) && defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
  return false;
#endif
}

// AMX-INT8 (simd_qamx.h): CPUID (AMX-TILE, AMX-INT8), the OS's XCR0 (tile configuration
// and data state) and the process's permission to use the tile data, which Linux grants
// on request (arch_prctl ARCH_REQ_XCOMP_PERM), asked once (a static's initializer runs
// once, thread-safe). -DDLCODER_RT_FORCE_AMX=0 turns it off (tests of the VNNI path).
inline bool runtime_amx() {
#if defined(DLCODER_RT_FORCE_AMX) && DLCODER_RT_FORCE_AMX == 0
  return false;
#elif defined(DLCODER_RT_AMX)
  static const bool ok = [] {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    if (((d >> 24) & 1u) == 0 || ((d >> 25) & 1u) == 0) return false;
    __cpuid(1, a, b, c, d);
    if (((c >> 27) & 1u) == 0) return false;  // OSXSAVE: xgetbv exists
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (((lo >> 17) & 3u) != 3u) return false;
    constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return ok;
#else
  return false;
#endif
}

}  // namespace dlcoder_rt

// Wrap per-ISA code: every function defined between BEGIN and END is compiled for it.
#if defined(__clang__)
#define DLCODER_RT_TARGET_BEGIN(features) \
  _Pragma("clang attribute push") \
  _Pragma(DLCODER_RT_STR(clang attribute push(__attribute__((target(features))), apply_to = function)))
#define DLCODER_RT_TARGET_END _Pragma("clang attribute pop") _Pragma("clang attribute pop")
#else
#define DLCODER_RT_TARGET_BEGIN(features) \
  _Pragma("GCC push_options") _Pragma(DLCODER_RT_STR(GCC target(features)))
#define DLCODER_RT_TARGET_END _Pragma("GCC pop_options")
#endif
#define DLCODER_RT_STR(x) #x
