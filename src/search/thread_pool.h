// thread_pool.h
//
// A small fixed pool for the search scans: Run(tasks, fn) calls fn(task,
// worker) for every task in [0, tasks) on the pool's threads plus the
// calling thread, and returns when all are done. Workers take tasks from a
// shared counter, so uneven tasks balance themselves. With one thread the
// pool starts nothing and runs everything on the caller (single-thread mode).
//
// Thread safety: Run() may be called from several threads; calls are
// serialised (a scan already uses every core). fn must not call Run().

#ifndef ABIS_SEARCH_THREAD_POOL_H_
#define ABIS_SEARCH_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace abis::search {

class ThreadPool {
 public:
  // threads <= 0: one per hardware thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Workers including the caller; `worker` passed to fn is in [0, size()).
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void Run(std::size_t tasks, const std::function<void(std::size_t task, int worker)>& fn);

 private:
  void WorkerLoop(int worker);
  void Drain(int worker);

  std::mutex run_mutex_;  // Serialises Run().
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(std::size_t, int)>* job_ = nullptr;
  std::size_t tasks_ = 0;
  std::size_t next_task_ = 0;
  std::size_t finished_ = 0;
  std::size_t generation_ = 0;
  int busy_workers_ = 0;
  bool stopping_ = false;
};

}  // namespace abis::search

#endif  // ABIS_SEARCH_THREAD_POOL_H_
