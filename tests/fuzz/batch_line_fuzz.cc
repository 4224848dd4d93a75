// libFuzzer target: one --batch-file line (tools/cli/batch_input.h) from arbitrary bytes. See
// CheckBatchLine for the properties; tools/fuzz.sh batch_line [SECONDS] runs it.
#include "fuzz_main.h"
#include "text_fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  st::fuzz::FailIf("batch_line_fuzz", st::fuzz::CheckBatchLine(data, size));
  return 0;
}
