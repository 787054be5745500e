// Module entry: backend loading, log capture, the async job base class.
#include <link.h>

#include <chrono>

#include <cstring>
#include <deque>
#include <mutex>

#include "blas.h"
#include "common.h"
#include "ggml-alloc.h"
#include "llama.h"

namespace lethe {

namespace {

std::once_flag backends_once;
std::atomic<bool> backends_loaded{false};
std::mutex log_mutex;
std::deque<std::string> error_lines;
std::string partial_line;
std::atomic<bool> log_verbose{false};

void log_callback(enum ggml_log_level level, const char* text, void*) {
  if (log_verbose.load()) fputs(text, stderr);
  if (level != GGML_LOG_LEVEL_ERROR && level != GGML_LOG_LEVEL_CONT) return;
  std::lock_guard<std::mutex> lock(log_mutex);
  partial_line += text;
  size_t nl;
  while ((nl = partial_line.find('\n')) != std::string::npos) {
    std::string line = partial_line.substr(0, nl);
    partial_line.erase(0, nl + 1);
    if (line.empty()) continue;
    error_lines.push_back(line);
    if (error_lines.size() > 8) error_lines.pop_front();
  }
}

int find_cpu_variant(struct dl_phdr_info* info, size_t, void* data) {
  const char* name = info->dlpi_name;
  if (name && strstr(name, "libggml-cpu-")) {
    const char* base = strrchr(name, '/');
    *static_cast<std::string*>(data) = base ? base + 1 : name;
    return 1;
  }
  return 0;
}

}  // namespace

void load_backends(const std::string& bins_dir, const std::string& cpu_backend) {
  std::call_once(backends_once, [&] {
    llama_log_set(log_callback, nullptr);
    ggml_log_set(log_callback, nullptr);
    // ggml_backend_load refuses a library whose feature check fails on this CPU (score 0), so a
    // source-built backend carried to another machine falls back to the prebuilt variants.
    if (cpu_backend.empty() || !ggml_backend_load(cpu_backend.c_str())) {
      ggml_backend_load_all_from_path(bins_dir.c_str());
    }
    llama_backend_init();
    backends_loaded = true;
  });
}

void require_backends(Napi::Env env) {
  if (!backends_loaded) throw_js(env, "CONFIG", "ggml backends are not loaded; load the addon through src/engine/native.ts");
}

std::string loaded_cpu_variant() {
  std::string variant;
  dl_iterate_phdr(find_cpu_variant, &variant);
  return variant;
}

ggml_backend_t new_cpu_backend(int threads) {
  ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!dev) return nullptr;
  ggml_backend_t backend = ggml_backend_dev_init(dev, nullptr);
  if (backend) set_backend_threads(backend, threads);
  return backend;
}

void set_backend_threads(ggml_backend_t backend, int threads) {
  ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  auto set_threads = reinterpret_cast<ggml_backend_set_n_threads_t>(
      ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(dev), "ggml_backend_set_n_threads"));
  if (set_threads) set_threads(backend, threads);
}

std::string last_native_error() {
  std::lock_guard<std::mutex> lock(log_mutex);
  std::string out;
  for (const auto& l : error_lines) out += (out.empty() ? "" : " | ") + l;
  return out;
}

void clear_native_error() {
  std::lock_guard<std::mutex> lock(log_mutex);
  error_lines.clear();
  partial_line.clear();
}

void set_native_log_verbose(bool verbose) { log_verbose.store(verbose); }

void throw_js(Napi::Env env, const std::string& code, const std::string& message) {
  throw Napi::Error::New(env, code + ": " + message);
}

void claim(Napi::Env env, std::atomic<bool>& busy, const char* what) {
  bool expected = false;
  if (!busy.compare_exchange_strong(expected, true)) {
    throw_js(env, "BUSY", std::string(what) + " is already running a long call");
  }
}

Job::Job(Napi::Env env, Napi::Function on_progress, std::atomic<bool>* cancel_flag, std::atomic<bool>* busy_flag)
    : Napi::AsyncProgressQueueWorker<Progress>(env),
      deferred_(Napi::Promise::Deferred::New(env)),
      cancel_flag_(cancel_flag),
      busy_flag_(busy_flag) {
  if (!on_progress.IsEmpty() && on_progress.IsFunction()) on_progress_ = Napi::Persistent(on_progress);
  if (cancel_flag_) cancel_flag_->store(false);
}

Job::~Job() = default;

void Job::Execute(const ExecutionProgress& progress) {
  try {
    Work(progress);
  } catch (const std::exception& e) {
    Fail("NATIVE", e.what());
  }
}

void Job::OnProgress(const Progress* data, size_t count) {
  if (on_progress_.IsEmpty() || count == 0) return;
  Napi::HandleScope scope(Env());
  const Progress& p = data[count - 1];
  on_progress_.Call({Napi::Number::New(Env(), p.done), Napi::Number::New(Env(), p.total)});
}

void Job::OnOK() {
  if (busy_flag_) busy_flag_->store(false);
  Napi::HandleScope scope(Env());
  try {
    deferred_.Resolve(Result(Env()));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void Job::OnError(const Napi::Error& e) {
  if (busy_flag_) busy_flag_->store(false);
  deferred_.Reject(e.Value());
}

}  // namespace lethe

namespace {

Napi::Value LoadBackends(const Napi::CallbackInfo& info) {
  lethe::load_backends(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
  return info.Env().Undefined();
}

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    devices.Set(i, d);
  }
  out.Set("devices", devices);
  out.Set("cpuVariant", lethe::loaded_cpu_variant());
  out.Set("systemInfo", llama_print_system_info());
  out.Set("blas", lethe::BlasName());
  return out;
}

Napi::Value SetLogVerbose(const Napi::CallbackInfo& info) {
  lethe::set_native_log_verbose(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// The fp32 GEMM rate of this machine through ggml's CPU backend: C[n,n] = A[n,n] x B[n,n].
// Benchmarks quote training throughput as a fraction of it.
Napi::Value GemmGflops(const Napi::CallbackInfo& info) {
  const int64_t n = info[0].As<Napi::Number>().Int64Value();
  const int iters = info[1].As<Napi::Number>().Int32Value();
  const int threads = info[2].As<Napi::Number>().Int32Value();
  const std::string type = info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "f32";
  // "bf16": the first operand in BF16, as the trainer's mixed-precision products read their weights;
  // "blas": the product on OpenBLAS, as the trainer's F32 products run where it is installed.
  const bool bf16 = type == "bf16";
  ggml_init_params ip = {ggml_tensor_overhead() * 8 + ggml_graph_overhead(), nullptr, true};
  ggml_context* ctx = ggml_init(ip);
  ggml_tensor* a = ggml_new_tensor_2d(ctx, bf16 ? GGML_TYPE_BF16 : GGML_TYPE_F32, n, n);
  ggml_tensor* b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n, n);
  ggml_tensor* c = ggml_mul_mat(ctx, a, b);
  if (type == "blas" && !lethe::UseBlas(ctx, c)) {
    ggml_free(ctx);
    throw Napi::Error::New(info.Env(), "UNSUPPORTED: no BLAS library loaded (install libopenblas0-pthread)");
  }
  ggml_cgraph* g = ggml_new_graph(ctx);
  ggml_build_forward_expand(g, c);
  ggml_backend_t backend = lethe::new_cpu_backend(threads);
  ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
  std::vector<float> init(n * n);
  for (int64_t i = 0; i < n * n; i++) init[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
  if (bf16) {
    std::vector<ggml_bf16_t> half(n * n);
    ggml_fp32_to_bf16_row(init.data(), half.data(), n * n);
    ggml_backend_tensor_set(a, half.data(), 0, ggml_nbytes(a));
  } else {
    ggml_backend_tensor_set(a, init.data(), 0, ggml_nbytes(a));
  }
  ggml_backend_tensor_set(b, init.data(), 0, ggml_nbytes(b));
  ggml_backend_graph_compute(backend, g);  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; i++) ggml_backend_graph_compute(backend, g);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ggml_backend_buffer_free(buf);
  ggml_backend_free(backend);
  ggml_free(ctx);
  return Napi::Number::New(info.Env(), 2.0 * n * n * n * iters / s / 1e9);
}

// quantizeModel(in, out, ftype, threads): llama.cpp's own quantizer (the one llama-quantize runs),
// so a model lethe writes comes out in the type it came in, mixes such as Q4_K_M included.
class QuantizeJob : public lethe::Job {
 public:
  QuantizeJob(Napi::Env env, std::string in, std::string out, int ftype, int threads)
      : Job(env, Napi::Function(), nullptr, nullptr), in_(std::move(in)), out_(std::move(out)), ftype_(ftype), threads_(threads) {}

 protected:
  void Work(const ExecutionProgress&) override {
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.nthread = threads_;
    p.ftype = static_cast<llama_ftype>(ftype_);
    p.allow_requantize = true;
    lethe::clear_native_error();
    if (llama_model_quantize(in_.c_str(), out_.c_str(), &p) != 0) {
      Fail("FORMAT", "llama.cpp could not quantize " + in_ + ": " + lethe::last_native_error());
    }
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string in_, out_;
  int ftype_, threads_;
};

Napi::Value QuantizeModel(const Napi::CallbackInfo& info) {
  auto* job = new QuantizeJob(info.Env(), info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(),
                              info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().Int32Value());
  job->Queue();
  return job->promise();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("quantizeModel", Napi::Function::New(env, QuantizeModel));
  exports.Set("gemmGflops", Napi::Function::New(env, GemmGflops));
  exports.Set("loadBackends", Napi::Function::New(env, LoadBackends));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo));
  exports.Set("setLogVerbose", Napi::Function::New(env, SetLogVerbose));
  lethe::InitInference(env, exports);
  lethe::InitTrainer(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(lethe, Init)
