// The half of lethe's native helpers that needs no N-API: backend loading and the captured log,
// so that the trainer core can use them without napi.h. Defined in addon.cc.
#pragma once

#include <string>

#include "ggml-backend.h"

namespace lethe {

// Loads the ggml backends once: the CPU backend built from source for this machine when
// `cpu_backend` names one that passes its feature check, else the best prebuilt variant in bins_dir.
void load_backends(const std::string& bins_dir, const std::string& cpu_backend);
// The file name of the libggml-cpu-*.so variant that got loaded, e.g. "libggml-cpu-zen4.so".
std::string loaded_cpu_variant();
// A CPU backend with `threads` threads for lethe's own graphs.
ggml_backend_t new_cpu_backend(int threads);
void set_backend_threads(ggml_backend_t backend, int threads);

// The last error-level messages ggml/llama.cpp logged, so failures can say why.
std::string last_native_error();
void clear_native_error();
void set_native_log_verbose(bool verbose);

}  // namespace lethe
