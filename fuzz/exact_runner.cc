// Run driver for sanitizer builds of a generated library. The same protocol as the verify
// harness (harness.cc.j2): reads DIR/input_<i>.bin, runs, writes DIR/output_<i>.bin;
// `--threads N` runs through dlcoder_rt::ThreadPool. But every input, output and the arena
// is allocated at its exact size and freed at the end, so AddressSanitizer reports an
// access even one byte past any of them (the verify harness pads each by 64 to 127 bytes),
// and LeakSanitizer can stay on (the library allocates nothing).
//
// Build: c++ -std=c++17 -fsanitize=... -pthread -DDLCODER_NAME=m -I LIB LIB/*.cc LIB/*.S exact_runner.cc
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dlcoder_rt/thread_pool.h"

#define DLCODER_STR2(x) #x
#define DLCODER_STR(x) DLCODER_STR2(x)
#include DLCODER_STR(DLCODER_NAME.h)

#define DLCODER_CAT2(a, b) a##b
#define DLCODER_CAT(a, b) DLCODER_CAT2(a, b)
#define MODEL(fn) DLCODER_CAT(DLCODER_NAME, fn)

static void* exact(size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, n) != 0) std::abort();
  return p;
}

static bool transfer(const std::string& path, void* buf, size_t n, bool write) {
  FILE* f = std::fopen(path.c_str(), write ? "wb" : "rb");
  if (!f) return false;
  const size_t done = write ? std::fwrite(buf, 1, n, f) : std::fread(buf, 1, n, f);
  std::fclose(f);
  return done == n;
}

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  const std::string dir = argv[1];
  int threads = 1;
  for (int i = 2; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
  dlcoder_rt::ThreadPool pool(threads);
  const int ni = MODEL(_num_inputs)(), no = MODEL(_num_outputs)();
  std::vector<void*> in(ni), out(no);
  for (int i = 0; i < ni; ++i) {
    in[i] = exact(MODEL(_input_size)(i));
    if (!transfer(dir + "/input_" + std::to_string(i) + ".bin", in[i], MODEL(_input_size)(i), false)) return 65;
  }
  for (int i = 0; i < no; ++i) out[i] = exact(MODEL(_output_size)(i));
  void* arena = exact(MODEL(_arena_size_threads)(threads));
  const int rc = MODEL(_run_threads)(in.data(), out.data(), arena, threads,
                                     threads > 1 ? dlcoder_rt::ThreadPool::ParallelFor : nullptr, &pool);
  for (int i = 0; rc == 0 && i < no; ++i)
    if (!transfer(dir + "/output_" + std::to_string(i) + ".bin", out[i], MODEL(_output_size)(i), true)) return 67;
  for (void* p : in) std::free(p);
  for (void* p : out) std::free(p);
  std::free(arena);
  if (rc != 0) std::fprintf(stderr, "run failed: %d\n", rc);
  return rc == 0 ? 0 : 66;
}
