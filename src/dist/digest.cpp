#include "dist/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace convoy::dist {

Digest gen_digest(std::uint32_t challenge, std::string_view cookie) {
  std::string input(cookie);
  input += std::to_string(challenge);
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), out.data(), &len, EVP_md5(), nullptr) != 1 ||
      len != out.size()) {
    // Only possible if libcrypto is built without MD5 (FIPS mode): nothing can work then.
    throw std::runtime_error("libcrypto refused to compute MD5 (FIPS mode?)");
  }
  return out;
}

bool digest_equal(const Digest& a, const std::uint8_t* b) noexcept {
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<std::uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace convoy::dist
