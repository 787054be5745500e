// Shared pieces of lethe's native addon: backend loading, logging capture (declared in backend.h,
// which needs no N-API) and the async job base.
// The addon stays thin: TypeScript validates inputs and owns policy; C++ holds handles and runs loops.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "backend.h"
#include "ggml.h"

namespace lethe {

// Throws a JS Error whose message starts with a stable code TS maps to a typed error class.
[[noreturn]] void throw_js(Napi::Env env, const std::string& code, const std::string& message);
// Throws unless load_backends ran (src/engine/native.ts does that before any model or trainer).
void require_backends(Napi::Env env);

// Progress of a long job, delivered to JS on the main thread.
struct Progress {
  double done;
  double total;
};

// A long native call: runs Work() on a worker thread, reports progress, honours cancellation,
// and resolves a promise with Result().
class Job : public Napi::AsyncProgressQueueWorker<Progress> {
 public:
  Job(Napi::Env env, Napi::Function on_progress, std::atomic<bool>* cancel_flag, std::atomic<bool>* busy_flag);
  ~Job() override;
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual void Work(const ExecutionProgress& progress) = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  bool cancelled() const { return cancel_flag_ && cancel_flag_->load(); }
  // Sets an error with a code prefix that TS turns into a typed error.
  void Fail(const std::string& code, const std::string& message) { SetError(code + ": " + message); }

 private:
  void Execute(const ExecutionProgress& progress) override;
  void OnProgress(const Progress* data, size_t count) override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference on_progress_;
  std::atomic<bool>* cancel_flag_;
  std::atomic<bool>* busy_flag_;
};

// Claims the busy flag or throws: one long call at a time per native object.
void claim(Napi::Env env, std::atomic<bool>& busy, const char* what);

Napi::Object InitInference(Napi::Env env, Napi::Object exports);
Napi::Object InitTrainer(Napi::Env env, Napi::Object exports);

}  // namespace lethe
