// A small thread pool that provides the parallel-for of NAME_run_threads (parallel.h).
// Generated models never include this header: it is here for callers that have no pool
// of their own, and for the test and benchmark drivers.
//
//   dlcoder_rt::ThreadPool pool(2);   // the calling thread + 1 worker
//   NAME_run_threads(in, out, arena, pool.threads(), dlcoder_rt::ThreadPool::ParallelFor, &pool);
//
// The caller takes part in every job. Workers spin for a short while after a job, because
// a model's kernels come in quick succession, then sleep on a condition variable. A job
// is published under the mutex and a worker copies it, with its number, under the mutex.
// Tasks are claimed from one 64-bit counter holding (job number, next task), so a worker
// that wakes late with a finished job's copy can claim nothing from a newer job; the
// caller returns when every task of its job is done.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "dlcoder_rt/parallel.h"

namespace dlcoder_rt {

class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { Loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (std::thread& w : workers_) w.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // The dlcoder_parallel_for hook; `user` is the pool.
  static void ParallelFor(void* user, int32_t n, dlcoder_task_fn fn, void* ctx) {
    static_cast<ThreadPool*>(user)->Run(n, fn, ctx);
  }

  void Run(int32_t n, dlcoder_task_fn fn, void* ctx) {
    if (workers_.empty() || n <= 1) {
      for (int32_t t = 0; t < n; ++t) fn(ctx, t);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
      job_ = Job{fn, ctx, n, generation};
      done_.store(0, std::memory_order_relaxed);
      next_.store(generation << 32, std::memory_order_relaxed);
      generation_.store(generation, std::memory_order_release);
    }
    cv_.notify_all();
    Work(job_);
    while (done_.load(std::memory_order_acquire) < n) Pause();
  }

 private:
  struct Job {
    dlcoder_task_fn fn = nullptr;
    void* ctx = nullptr;
    int32_t n = 0;
    uint64_t generation = 0;
  };

  static void Pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  // Claims and runs tasks of `job` until none is left (or a newer job has replaced it).
  void Work(const Job& job) {
    uint64_t v = next_.load(std::memory_order_relaxed);
    for (;;) {
      if ((v >> 32) != job.generation || static_cast<int32_t>(v & 0xffffffffu) >= job.n) return;
      if (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acquire, std::memory_order_relaxed))
        continue;
      job.fn(job.ctx, static_cast<int32_t>(v & 0xffffffffu));
      done_.fetch_add(1, std::memory_order_release);
      v = next_.load(std::memory_order_relaxed);
    }
  }

  void Loop() {
    uint64_t seen = 0;
    for (;;) {
      for (int i = 0; i < kSpins && generation_.load(std::memory_order_acquire) == seen; ++i) Pause();
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        if (stop_) return;
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
      }
      Work(job);
    }
  }

  static constexpr int kSpins = 1 << 16;  // about 100 us of pause instructions

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  Job job_;
  bool stop_ = false;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> next_{0};  // (job number << 32) | next task
  std::atomic<int32_t> done_{0};
};

}  // namespace dlcoder_rt
