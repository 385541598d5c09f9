// SPDX-License-Identifier: MIT
// How a spawned Windows child receives its shared objects: never by inheritance. An
// inheritable handle, even for the moment CreateProcessW runs, can be caught by any other
// CreateProcess call with bInheritHandles TRUE and no handle list (system(), _popen, other
// libraries). So the child is created suspended (process_win.cpp); each object handle is
// then copied into it with DuplicateHandle (not inheritable there), and the token,
// rewritten to name the child's copies, waits for it in a small bootstrap section
// "Local\interproc.boot.<128-bit random hex>" whose name is the only thing on the command
// line. A handle to that section is duplicated into the child too, so the section lives
// until the child has read it; the child closes it. The same scheme as Python's
// multiprocessing spawn start on Windows (DuplicateHandle into the child), with the token
// kept off the command line.

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "win32/handoff_win.hpp"
#include "win32/owner_only_security.hpp"
#include "win32/win_util.hpp"

#include <windows.h>
#include <ntsecapi.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

namespace interproc::detail {
namespace {

// The bootstrap section's layout: this header, then token_length bytes of token text.
struct BootHeader {
  std::uint64_t magic;
  char id[32];                 // the name's random part, so the child can recognise its handle
  std::uint64_t child_handle;  // the child's own handle to this section, for it to close
  std::uint64_t token_length;
};
constexpr std::uint64_t boot_magic = 0x544f4f4250495049;  // "IPIPBOOT"
constexpr std::size_t boot_id_length = sizeof(BootHeader::id);
constexpr std::size_t max_boot_token = 1 << 20;  // far beyond any token (64 objects)

std::wstring boot_section_name(const std::string& id) {
  return L"Local\\interproc.boot." + std::wstring(id.begin(), id.end());  // id: hex digits
}

bool is_boot_id(std::string_view id) noexcept {
  return id.size() == boot_id_length &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// 128 random bits as 32 lowercase hex digits: nobody can guess the name, so nobody can
// plant a section under it before this process creates it.
std::string random_boot_id() {
  unsigned char bytes[boot_id_length / 2];
  if (!::RtlGenRandom(bytes, sizeof bytes)) fail_last_error("RtlGenRandom", "bootstrap section name");
  std::string id;
  for (const unsigned char b : bytes) {
    id += "0123456789abcdef"[b >> 4];
    id += "0123456789abcdef"[b & 15];
  }
  return id;
}

// kill()'s exit code: TerminateProcess needs one, and wait() must tell it from any code an
// entry returns, so it is a value no program exits with by itself: not small, not a
// crash's NTSTATUS (those have the top bit set), "KIL9" in ASCII. wait() reports it as -9, the

// Copies `h` into `child`: DuplicateHandle with bInheritHandle FALSE, so the copy is the
// child's own, not inheritable there, and no inheritable handle exists here.
std::uint64_t give(HANDLE child, HANDLE h, DWORD access, DWORD options, const std::string& what) {
  HANDLE theirs = nullptr;
  if (!::DuplicateHandle(::GetCurrentProcess(), h, child, &theirs, access, FALSE, options)) {
    fail_last_error("DuplicateHandle", what + " into child " + std::to_string(::GetProcessId(child)));
  }
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(theirs));
}

void publish_token(HANDLE child, const std::string& id, const std::string& token) {
  const std::string shown = quoted("Local\\interproc.boot." + id);
  const std::uint64_t size = sizeof(BootHeader) + token.size();
  OwnerOnlySecurity security;
  ::SetLastError(ERROR_SUCCESS);
  const ScopedHandle section(from_handle(::CreateFileMappingW(INVALID_HANDLE_VALUE, security.get(), PAGE_READWRITE,
                                                              static_cast<DWORD>(size >> 32), static_cast<DWORD>(size),
                                                              boot_section_name(id).c_str())));
  if (!section.valid()) fail_last_error("CreateFileMappingW", shown);
  if (::GetLastError() == ERROR_ALREADY_EXISTS) {  // 128 random bits: only if planted
    throw std::system_error(std::make_error_code(std::errc::file_exists), "CreateFileMappingW(" + shown + ")");
  }
  const ScopedView view(::MapViewOfFile(as_handle(section.get()), FILE_MAP_WRITE, 0, 0, 0));
  if (view.get() == nullptr) fail_last_error("MapViewOfFile", shown);
  BootHeader header{};
  header.magic = boot_magic;
  std::memcpy(header.id, id.data(), boot_id_length);
  // Read access is all the child needs of it; the copy keeps the section alive after this
  // process closes its handle below.
  header.child_handle = give(child, as_handle(section.get()), FILE_MAP_READ, 0, "bootstrap section " + shown);
  header.token_length = token.size();
  std::memcpy(view.get(), &header, sizeof header);
  std::memcpy(static_cast<unsigned char*>(view.get()) + sizeof header, token.data(), token.size());
}

[[noreturn]] void reject_boot(const std::string& why) { fail(errc::bad_handle_argument, "child token: " + why); }

}  // namespace

std::string new_boot_argument() { return "@" + random_boot_id(); }

void hand_over(HANDLE child, const std::string& boot_argument, ChildToken token) {
  for (std::uint64_t* field : handle_fields(token)) {
    const auto handle = static_cast<native_handle>(*field);
    *field = give(child, as_handle(handle), 0, DUPLICATE_SAME_ACCESS, "handle " + std::to_string(handle));
  }
  publish_token(child, boot_argument.substr(1), encode_token(token));
}

std::string received_token(std::string_view argument) {
  if (argument.empty() || argument[0] != '@' || !is_boot_id(argument.substr(1))) {
    reject_boot("expected @ and " + std::to_string(boot_id_length) + " hex digits, the parent's bootstrap section");
  }
  const std::string id(argument.substr(1));
  const std::string shown = quoted("Local\\interproc.boot." + id);
  const ScopedHandle section(from_handle(::OpenFileMappingW(FILE_MAP_READ, FALSE, boot_section_name(id).c_str())));
  if (!section.valid()) {
    const DWORD error = ::GetLastError();
    reject_boot("OpenFileMappingW(" + shown + "): " + std::system_category().message(static_cast<int>(error)));
  }
  const ScopedView view(::MapViewOfFile(as_handle(section.get()), FILE_MAP_READ, 0, 0, 0));
  MEMORY_BASIC_INFORMATION region{};
  if (view.get() == nullptr || ::VirtualQuery(view.get(), &region, sizeof region) != sizeof region ||
      region.RegionSize < sizeof(BootHeader)) {
    reject_boot("cannot map " + shown);
  }
  BootHeader header{};
  std::memcpy(&header, view.get(), sizeof header);
  if (header.magic != boot_magic || std::memcmp(header.id, id.data(), boot_id_length) != 0 ||
      header.token_length > max_boot_token || header.token_length > region.RegionSize - sizeof header) {
    reject_boot(shown + " is not a bootstrap section");
  }
  std::string token(reinterpret_cast<const char*>(static_cast<unsigned char*>(view.get()) + sizeof header),
                    static_cast<std::size_t>(header.token_length));
  // The parent's copy of the section for this process: close it, but only once it is shown
  // to be this very section (it maps, with the same header), never another handle of ours.
  const HANDLE given = reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(header.child_handle));
  const ScopedView check(::MapViewOfFile(given, FILE_MAP_READ, 0, 0, sizeof header));
  if (check.get() == nullptr || std::memcmp(check.get(), &header, sizeof header) != 0) {
    reject_boot(shown + " names handle " + std::to_string(header.child_handle) + ", which is not the section");
  }
  ::CloseHandle(given);
  return token;
}

}  // namespace interproc::detail
