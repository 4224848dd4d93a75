// Strings from model files (general.name, tensor names, any metadata) are untrusted: printed raw,
// an escape sequence in them could rewrite the user's terminal, and an embedded NUL would cut a
// message printed with printf("%s"). EscapeForDisplay makes such a string safe to print.
#pragma once

#include <string>
#include <string_view>

namespace st {

// Returns `s` with every control character (C0 including tab and newline, DEL, and the C1 range
// U+0080..U+009F) and every byte that is not part of valid UTF-8 written as \xNN (a C1 character
// as the \xNN of each of its two bytes). Printable UTF-8, including non-ASCII text, is kept as
// it is. For display only: backslashes are not doubled, so the result is not reversible.
std::string EscapeForDisplay(std::string_view s);

}  // namespace st
