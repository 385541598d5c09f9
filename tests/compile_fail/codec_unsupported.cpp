// SPDX-License-Identifier: MIT
// Must NOT compile: encoding a type with no codec is a static_assert that names the type
// (tests/CMakeLists.txt builds this and expects the message).
#include <interproc/codec.hpp>

#include <string>

struct Unencodable {
  std::string name;
};

int main() {
  std::string buffer;
  interproc::encode(buffer, Unencodable{"x"});
  return 0;
}
