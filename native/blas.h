// Matrix products of the training graph on the system's OpenBLAS, where one is installed.
#pragma once

#include <string>

#include "ggml.h"

namespace lethe {

// "OpenBLAS <core>" when libopenblas.so.0 loaded (and LETHE_BLAS is not "off"), else "".
const std::string& BlasName();

// Turns the F32 MUL_MAT or OUT_PROD node `n` into a custom op that multiplies its operands, as they
// lie in memory (transposed views included), with cblas_sgemm. False, leaving `n` as it was, when
// no BLAS loaded or the node's types or layout do not fit.
bool UseBlas(ggml_context* ctx, ggml_tensor* n);

}  // namespace lethe
