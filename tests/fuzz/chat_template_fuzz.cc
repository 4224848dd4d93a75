// libFuzzer target: ChatTemplate::FromText on arbitrary text, and Render/RenderDelta of message
// lists built from the bytes with the built-in templates. See CheckChatTemplate.
#include "fuzz_main.h"
#include "text_fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  st::fuzz::FailIf("chat_template_fuzz", st::fuzz::CheckChatTemplate(data, size));
  return 0;
}
