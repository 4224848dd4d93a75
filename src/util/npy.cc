#include "util/npy.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "util/checked_math.h"

namespace st {

Status WriteNpyF32(const std::string& path, const float* data, const std::vector<uint64_t>& shape) {
  std::string dims;
  uint64_t count = 1;
  for (uint64_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(a, b)"; a 1-tuple keeps "(a, )"
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64,
  // ending in '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError(fmt::format("'{}': cannot create: {}", path, std::strerror(errno)));
  const uint16_t hlen = static_cast<uint16_t>(header.size());
  bool ok = std::fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && std::fwrite(&hlen, 2, 1, f) == 1 &&
            std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
            std::fwrite(data, sizeof(float), count, f) == count;
  const int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return IoError(fmt::format("'{}': write failed: {}", path, std::strerror(err)));
  return Status::Ok();
}

Result<NpyArray> ReadNpyF32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("'{}': cannot open", path));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    return InvalidFile(fmt::format("'{}': not a .npy file", path));
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    hstart = 10;
  } else if (major == 2 && bytes.size() >= 12) {
    uint32_t l;
    std::memcpy(&l, bytes.data() + 8, 4);
    hlen = l;
    hstart = 12;
  } else {
    return Unsupported(fmt::format("'{}': .npy format version {} not supported", path, major));
  }
  if (hstart + hlen > bytes.size()) return InvalidFile(fmt::format("'{}': truncated .npy header", path));
  const std::string header(bytes.data() + hstart, hlen);
  if (header.find("'descr': '<f4'") == std::string::npos) {
    return Unsupported(fmt::format("'{}': only little-endian float32 .npy files are supported", path));
  }
  if (header.find("'fortran_order': False") == std::string::npos) {
    return Unsupported(fmt::format("'{}': only C-order .npy files are supported", path));
  }
  const size_t lp = header.find('(', header.find("'shape'"));
  const size_t rp = header.find(')', lp);
  if (lp == std::string::npos || rp == std::string::npos) return InvalidFile(fmt::format("'{}': no shape in .npy header", path));
  NpyArray a;
  uint64_t count = 1;
  std::string dims = header.substr(lp + 1, rp - lp - 1);
  size_t i = 0;
  while (i < dims.size()) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims.size()) break;
    uint64_t d = 0;
    bool any = false;
    while (i < dims.size() && dims[i] >= '0' && dims[i] <= '9') {
      auto m = CheckedMul(d, 10);
      auto s = m ? CheckedAdd(*m, static_cast<uint64_t>(dims[i] - '0')) : std::nullopt;
      if (!s) return InvalidFile(fmt::format("'{}': shape dimension overflows", path));
      d = *s;
      ++i;
      any = true;
    }
    if (!any) return InvalidFile(fmt::format("'{}': bad shape '{}'", path, dims));
    a.shape.push_back(d);
    auto c = CheckedMul(count, d);
    if (!c) return InvalidFile(fmt::format("'{}': shape overflows", path));
    count = *c;
  }
  const size_t data_start = hstart + hlen;
  if (count > (bytes.size() - data_start) / 4) {
    return InvalidFile(fmt::format("'{}': {} floats expected, file has room for {}", path, count, (bytes.size() - data_start) / 4));
  }
  a.data.resize(count);
  std::memcpy(a.data.data(), bytes.data() + data_start, count * 4);
  return a;
}

}  // namespace st
