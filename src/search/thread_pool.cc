#include "search/thread_pool.h"

namespace abis::search {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Drain(int worker) {
  while (true) {
    std::size_t task;
    {
      std::lock_guard lock(mutex_);
      if (next_task_ >= tasks_) return;
      task = next_task_++;
    }
    (*job_)(task, worker);
    std::lock_guard lock(mutex_);
    if (++finished_ == tasks_) done_.notify_all();
  }
}

void ThreadPool::WorkerLoop(int worker) {
  std::size_t seen = 0;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      ++busy_workers_;
    }
    Drain(worker);
    std::lock_guard lock(mutex_);
    if (--busy_workers_ == 0) done_.notify_all();
  }
}

void ThreadPool::Run(std::size_t tasks, const std::function<void(std::size_t, int)>& fn) {
  if (tasks == 0) return;
  std::lock_guard run_lock(run_mutex_);
  if (workers_.empty() || tasks == 1) {
    for (std::size_t t = 0; t < tasks; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    tasks_ = tasks;
    next_task_ = 0;
    finished_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  Drain(0);
  std::unique_lock lock(mutex_);
  // Wait for every task and for every worker to leave Drain(), so the next
  // Run() cannot hand a stale worker the new job mid-way.
  done_.wait(lock, [&] { return finished_ == tasks_ && busy_workers_ == 0; });
  job_ = nullptr;
}

}  // namespace abis::search
