// SPDX-License-Identifier: MIT
// Windows child processes: CreateProcessW of this program's own executable, and
// interproc::Child's members (wait, kill) on the process handle.
//
// How the shared objects reach the child: never by inheritance. An inheritable handle, even
// for the moment CreateProcessW runs, can be caught by any other CreateProcess call with
// bInheritHandles TRUE and no handle list (system(), _popen, other libraries). So the child
// is created suspended, inheriting only the standard handles (PROC_THREAD_ATTRIBUTE_HANDLE_LIST);
// each object handle is then copied into it with DuplicateHandle (not inheritable there),
// and the token, rewritten to name the child's copies, waits for it in a small bootstrap
// section "Local\interproc.boot.<128-bit random hex>" whose name is the only thing on the
// command line (--interproc-child=@<hex>). A handle to that section is duplicated into the
// child too, so the section lives until the child has read it; the child closes it. The
// same scheme as Python's multiprocessing spawn start on Windows (DuplicateHandle into the
// child), with the token kept off the command line.

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "win32/owner_only_security.hpp"
#include "win32/win_util.hpp"

#include <windows.h>
#include <ntsecapi.h>
#include <shellapi.h>

#include <gsl/assert>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <cwchar>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace interproc {
namespace detail {
namespace {

// ---- text: UTF-8 outside, UTF-16 for the W functions ----

std::wstring to_utf16(const std::string& text) {
  if (text.empty()) return {};
  if (text.size() > INT_MAX) fail(errc::child_start_failed, "spawn_child: argument too long");
  const int length = static_cast<int>(text.size());
  const int wide = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(), length, nullptr, 0);
  if (wide == 0) {
    const DWORD error = ::GetLastError();
    throw_win32(error, "MultiByteToWideChar(" + quoted(text) + ")");
  }
  std::wstring out(static_cast<std::size_t>(wide), L'\0');
  ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(), length, out.data(), wide);
  return out;
}

// `text` in `code_page` (CP_UTF8: strictly, failing on unpaired surrogates; CP_ACP: with
// the best-fit replacements Windows makes for GetCommandLineA). False if it cannot convert.
bool narrow(const std::wstring& text, UINT code_page, std::string& out) {
  out.clear();
  if (text.empty()) return true;
  const DWORD flags = code_page == CP_UTF8 ? WC_ERR_INVALID_CHARS : 0;
  const int length = static_cast<int>(text.size());  // paths and command lines: < 32768
  const int size = ::WideCharToMultiByte(code_page, flags, text.data(), length, nullptr, 0, nullptr, nullptr);
  if (size == 0) return false;
  out.resize(static_cast<std::size_t>(size));
  return ::WideCharToMultiByte(code_page, flags, text.data(), length, out.data(), size, nullptr, nullptr) == size;
}

std::string to_utf8(const std::wstring& text) {
  std::string out;
  if (!narrow(text, CP_UTF8, out)) fail_last_error("WideCharToMultiByte", "UTF-16 text");
  return out;
}

// ---- the command line ----

// One argument as CommandLineToArgvW and the MSVC/MinGW CRT parse it back: quoted when
// empty or holding blanks or quotes; inside quotes, backslashes are literal except in runs
// that precede a quote (escaped or the closing one), where each must be doubled.
void append_quoted(std::wstring& line, const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    line += arg;
    return;
  }
  line += L'"';
  std::size_t backslashes = 0;
  for (const wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    line.append(c == L'"' ? 2 * backslashes + 1 : backslashes, L'\\');
    line += c;
    backslashes = 0;
  }
  line.append(2 * backslashes, L'\\');
  line += L'"';
}

std::wstring command_line(const std::vector<std::string>& argv) {
  std::wstring line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += L' ';
    append_quoted(line, to_utf16(arg));
  }
  return line;
}

// ---- the environment: the parent's, plus the guard marker ----

constexpr auto marker_name() noexcept {
  std::array<wchar_t, sizeof guard_marker_name> name{};
  for (std::size_t i = 0; i < name.size(); ++i) name[i] = static_cast<wchar_t>(guard_marker_name[i]);
  return name;
}
constexpr auto wide_marker = marker_name();
constexpr int marker_length = static_cast<int>(sizeof guard_marker_name - 1);

// Compares an entry's name ("NAME=value"; "=C:=C:\dir" entries start with '=') with the
// marker's the way the block is sorted: ordinal, ignoring case.
int compare_with_marker(const wchar_t* entry) noexcept {
  const wchar_t* equals = std::wcschr(entry + 1, L'=');
  const int length = equals != nullptr ? static_cast<int>(equals - entry) : static_cast<int>(std::wcslen(entry));
  return ::CompareStringOrdinal(entry, length, wide_marker.data(), marker_length, TRUE) - CSTR_EQUAL;
}

// GetEnvironmentStringsW's block with any marker entry replaced by "<marker>=1", kept in
// the block's case-insensitive order (CreateProcessW's documentation asks for sorted blocks).
std::wstring environment_block() {
  wchar_t* strings = ::GetEnvironmentStringsW();
  if (strings == nullptr) fail_last_error("GetEnvironmentStringsW", "this process");
  const std::wstring marker_entry = std::wstring(wide_marker.data()) + L"=1";
  std::wstring block;
  bool added = false;
  for (const wchar_t* entry = strings; *entry != L'\0'; entry += std::wcslen(entry) + 1) {
    const int order = compare_with_marker(entry);
    if (!added && order >= 0) {
      block.append(marker_entry).push_back(L'\0');
      added = true;
    }
    if (order != 0) block.append(entry).push_back(L'\0');
  }
  ::FreeEnvironmentStringsW(strings);
  if (!added) block.append(marker_entry).push_back(L'\0');
  block.push_back(L'\0');  // the block ends with an empty string
  return block;
}

// ---- the standard handles: the only handles the child inherits ----

// The standard handles go to the child explicitly (STARTF_USESTDHANDLES), and so must be in
// the handle list too: a handle list without them would leave the child's std handle
// values pointing at nothing (under Wine its output is lost). Windows 7's console handles
// are pseudo handles (low bits 11, FILE_TYPE_CHAR) that no list accepts; the console
// passes those on by itself.
bool is_console_pseudo_handle(HANDLE h) noexcept {
  return (reinterpret_cast<std::uintptr_t>(h) & 3) == 3 && ::GetFileType(h) == FILE_TYPE_CHAR;
}

// The three standard handles as the child receives them. PROC_THREAD_ATTRIBUTE_HANDLE_LIST
// only accepts inheritable handles; one that is not gets an inheritable duplicate, closed
// once CreateProcessW has returned, so this process's own handles are never changed. (A
// standard handle is no shared object: another program that catches such a duplicate
// gets nothing the console or the parent's parent did not already give it.) A missing
// or stale handle becomes NULL, which must not make spawning fail.
class StandardHandles {
 public:
  StandardHandles() {
    const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int i = 0; i < 3; ++i) values_[i] = for_child(::GetStdHandle(which[i]));
  }
  StandardHandles(const StandardHandles&) = delete;
  StandardHandles& operator=(const StandardHandles&) = delete;

  HANDLE input() const noexcept { return values_[0]; }
  HANDLE output() const noexcept { return values_[1]; }
  HANDLE error() const noexcept { return values_[2]; }
  // What the handle list holds: each handle once (duplicates are an error), no pseudo handles.
  std::vector<HANDLE> inherited() const {
    std::vector<HANDLE> list;
    for (const HANDLE h : values_) {
      if (h == nullptr || is_console_pseudo_handle(h)) continue;
      if (std::find(list.begin(), list.end(), h) == list.end()) list.push_back(h);
    }
    return list;
  }

 private:
  HANDLE for_child(HANDLE h) {
    DWORD flags = 0;
    if (!is_valid_handle(from_handle(h))) return nullptr;
    if (is_console_pseudo_handle(h)) return h;
    if (!::GetHandleInformation(h, &flags)) return nullptr;  // stale
    if ((flags & HANDLE_FLAG_INHERIT) != 0) return h;
    for (std::size_t i = 0; i < originals_.size(); ++i) {  // stdout and stderr are often one handle
      if (originals_[i] == h) return as_handle(duplicates_[i].get());
    }
    HANDLE duplicate = nullptr;
    if (!::DuplicateHandle(::GetCurrentProcess(), h, ::GetCurrentProcess(), &duplicate, 0, TRUE,
                           DUPLICATE_SAME_ACCESS)) {
      return nullptr;
    }
    originals_.push_back(h);
    duplicates_.emplace_back(from_handle(duplicate));
    return duplicate;
  }

  HANDLE values_[3] = {nullptr, nullptr, nullptr};
  std::vector<HANDLE> originals_;
  std::vector<ScopedHandle> duplicates_;  // closed with this object
};

// A PROC_THREAD_ATTRIBUTE_LIST holding one PROC_THREAD_ATTRIBUTE_HANDLE_LIST.
class HandleListAttribute {
 public:
  explicit HandleListAttribute(std::vector<HANDLE> handles) : handles_(std::move(handles)) {
    SIZE_T size = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &size);  // fails, reporting the size
    storage_.resize(size);
    if (!::InitializeProcThreadAttributeList(get(), 1, 0, &size)) {
      fail_last_error("InitializeProcThreadAttributeList", "1 attribute");
    }
    if (!::UpdateProcThreadAttribute(get(), 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles_.data(),
                                     handles_.size() * sizeof(HANDLE), nullptr, nullptr)) {
      const DWORD error = ::GetLastError();
      ::DeleteProcThreadAttributeList(get());
      throw_win32(error, "UpdateProcThreadAttribute(PROC_THREAD_ATTRIBUTE_HANDLE_LIST)");
    }
  }
  HandleListAttribute(const HandleListAttribute&) = delete;
  HandleListAttribute& operator=(const HandleListAttribute&) = delete;
  ~HandleListAttribute() { ::DeleteProcThreadAttributeList(get()); }

  LPPROC_THREAD_ATTRIBUTE_LIST get() noexcept {
    return reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage_.data());
  }

 private:
  std::vector<HANDLE> handles_;  // the list points into this; it must outlive CreateProcessW
  std::vector<unsigned char> storage_;
};

// ---- the bootstrap section ----

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
// SIGKILL death POSIX reports.
constexpr DWORD killed_exit_code = 0x4B494C39;
constexpr int killed_result = -9;

// A child created suspended that is not handed over yet: if anything fails before it is,
// the child is terminated and waited for, so no half-started process outlives the throw.
class SuspendedChild {
 public:
  explicit SuspendedChild(const PROCESS_INFORMATION& info) noexcept : info_(info) {}
  SuspendedChild(const SuspendedChild&) = delete;
  SuspendedChild& operator=(const SuspendedChild&) = delete;
  ~SuspendedChild() {
    if (info_.hProcess == nullptr) return;
    ::TerminateProcess(info_.hProcess, killed_exit_code);
    ::WaitForSingleObject(info_.hProcess, INFINITE);
    ::CloseHandle(info_.hThread);
    ::CloseHandle(info_.hProcess);
  }

  HANDLE process() const noexcept { return info_.hProcess; }

  // Copies `h` into the child: DuplicateHandle with bInheritHandle FALSE, so the copy is
  // the child's own, not inheritable there, and no inheritable handle exists here.
  std::uint64_t give(HANDLE h, DWORD access, DWORD options, const std::string& what) const {
    HANDLE theirs = nullptr;
    if (!::DuplicateHandle(::GetCurrentProcess(), h, info_.hProcess, &theirs, access, FALSE, options)) {
      fail_last_error("DuplicateHandle", what + " into child " + std::to_string(info_.dwProcessId));
    }
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(theirs));
  }

  Child resume(const std::string& shown) {
    if (::ResumeThread(info_.hThread) == static_cast<DWORD>(-1)) fail_last_error("ResumeThread", shown);
    ::CloseHandle(info_.hThread);
    const HANDLE process = std::exchange(info_.hProcess, nullptr);
    return ChildAccess::make(static_cast<long>(info_.dwProcessId), from_handle(process));
  }

 private:
  PROCESS_INFORMATION info_;
};

// Puts `token` (with the child's handle values) where the child finds it: a new bootstrap
// section named after `id`, owner-only like the named segments, that the child holds a
// handle to; this process's own handle is closed on return.
void publish_token(const SuspendedChild& child, const std::string& id, const std::string& token) {
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
  header.child_handle = child.give(as_handle(section.get()), FILE_MAP_READ, 0, "bootstrap section " + shown);
  header.token_length = token.size();
  std::memcpy(view.get(), &header, sizeof header);
  std::memcpy(static_cast<unsigned char*>(view.get()) + sizeof header, token.data(), token.size());
}

[[noreturn]] void reject_boot(const std::string& why) { fail(errc::bad_handle_argument, "--interproc-child: " + why); }

}  // namespace

bool guard_marker_present() noexcept {
  // A variable's required buffer size, counting its NUL: never 0 when it exists.
  return ::GetEnvironmentVariableW(wide_marker.data(), nullptr, 0) != 0;
}

void remove_guard_marker() noexcept { ::SetEnvironmentVariableW(wide_marker.data(), nullptr); }

std::vector<std::string> program_arguments(int argc, char** argv) {
  // main()'s argv is in the ANSI code page, which cannot hold every character a parent
  // passes (launch_executable sends UTF-16). When argv is this process's own command line
  // (each argument matches its ANSI form), take the arguments from the UTF-16 one instead.
  const std::vector<std::string> ansi(argv, argv + argc);
  int count = 0;
  wchar_t** wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (wide == nullptr) return ansi;
  std::vector<std::string> utf8;
  std::string converted;
  for (int i = 0; count == argc && i < count; ++i) {
    const std::wstring arg(wide[i]);
    if (!narrow(arg, CP_ACP, converted) || converted != ansi[static_cast<std::size_t>(i)]) break;
    if (!narrow(arg, CP_UTF8, converted)) break;
    utf8.push_back(converted);
  }
  ::LocalFree(wide);
  return utf8.size() == ansi.size() ? utf8 : ansi;
}

std::string executable_path() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    const DWORD length = ::GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (length == 0) fail_last_error("GetModuleFileNameW", "this executable");
    if (length < path.size()) {
      path.resize(length);
      return to_utf8(path);
    }
    // Truncated: the result filled the buffer. Paths end at 32767 characters.
    if (path.size() > 32768) fail_last_error("GetModuleFileNameW", "this executable");
    path.resize(path.size() * 2);
  }
}

Child launch_executable(const std::string& path, ChildToken token, const std::vector<std::string>& args) {
  const std::string shown = quoted(path);
  const std::wstring application = to_utf16(path);
  std::wstring environment = environment_block();

  const StandardHandles standard;
  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof startup;
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = standard.input();
  startup.StartupInfo.hStdOutput = standard.output();
  startup.StartupInfo.hStdError = standard.error();
  const std::vector<HANDLE> inherited = standard.inherited();

  // CREATE_SUSPENDED: the child runs no code before its objects and its token are in place.
  DWORD flags = CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED;
  std::optional<HandleListAttribute> attribute;
  if (!inherited.empty()) {  // an empty handle list is invalid: then nothing is inherited
    attribute.emplace(inherited);
    startup.lpAttributeList = attribute->get();
    flags |= EXTENDED_STARTUPINFO_PRESENT;
  }
  // The command line cannot hold the token yet (the child's handle values come from
  // DuplicateHandle, which needs the process), so it names the bootstrap section, whose
  // name is chosen now; the section is created once the token is complete.
  const std::string boot_id = random_boot_id();
  std::vector<std::string> argv{path, std::string(child_flag) + "@" + boot_id};
  argv.insert(argv.end(), args.begin(), args.end());
  std::wstring line = command_line(argv);

  PROCESS_INFORMATION info{};
  if (!::CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, inherited.empty() ? FALSE : TRUE, flags,
                        environment.data(), nullptr, &startup.StartupInfo, &info)) {
    fail_last_error("CreateProcessW", shown);
  }
  SuspendedChild child(info);  // terminated if anything below throws
  for (std::uint64_t* field : handle_fields(token)) {
    const auto handle = static_cast<native_handle>(*field);
    *field = child.give(as_handle(handle), 0, DUPLICATE_SAME_ACCESS, "handle " + std::to_string(handle));
  }
  publish_token(child, boot_id, encode_token(token));
  return child.resume(shown);
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

Child launch_fork(const std::function<int()>& /*body*/) {
  fail(errc::not_supported, "StartMethod::fork is POSIX-only; use StartMethod::spawn on Windows");
}

}  // namespace detail

// ---- interproc::Child on a process handle ----

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), handle_(std::exchange(other.handle_, detail::invalid_handle)),
      exit_code_(std::exchange(other.exit_code_, 0)), waited_(std::exchange(other.waited_, false)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    release();  // like std::jthread's move assignment: finish with the current child first
    pid_ = std::exchange(other.pid_, -1);
    handle_ = std::exchange(other.handle_, detail::invalid_handle);
    exit_code_ = std::exchange(other.exit_code_, 0);
    waited_ = std::exchange(other.waited_, false);
  }
  return *this;
}

Child::~Child() { release(); }

// Waits for a child not yet waited for (never kills it silently), then closes its handle.
void Child::release() noexcept {
  if (detail::is_valid_handle(handle_) && !waited_) {
    try {
      wait();
    } catch (...) {  // WaitForSingleObject fails only on a bad handle; nothing left to wait for
    }
  }
  detail::close_handle(std::exchange(handle_, detail::invalid_handle));
}

int Child::wait() {
  if (waited_) return exit_code_;
  Expects(detail::is_valid_handle(handle_));  // a moved-from Child
  const HANDLE process = detail::as_handle(handle_);
  DWORD code = 0;
  if (::WaitForSingleObject(process, INFINITE) == WAIT_FAILED) {
    const DWORD error = ::GetLastError();
    detail::throw_win32(error, "WaitForSingleObject(child " + std::to_string(pid_) + ")");
  }
  if (!::GetExitCodeProcess(process, &code)) {
    const DWORD error = ::GetLastError();
    detail::throw_win32(error, "GetExitCodeProcess(child " + std::to_string(pid_) + ")");
  }
  if (code == detail::killed_exit_code) return finish(detail::killed_result);
  return finish(static_cast<int>(code));  // NTSTATUS codes such as 0xC0000005 come out negative
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  if (waited_) return exit_code_;
  Expects(detail::is_valid_handle(handle_));
  // A timeout WaitForSingleObject cannot count (49.7 days and more) waits as long as it takes.
  if (timeout >= std::chrono::milliseconds(INFINITE)) return wait();
  const auto ms = std::max<std::chrono::milliseconds::rep>(timeout.count(), 0);
  const DWORD result = ::WaitForSingleObject(detail::as_handle(handle_), static_cast<DWORD>(ms));
  if (result == WAIT_TIMEOUT) return std::nullopt;
  if (result == WAIT_FAILED) {
    const DWORD error = ::GetLastError();
    detail::throw_win32(error, "WaitForSingleObject(child " + std::to_string(pid_) + ")");
  }
  return wait();
}

void Child::kill() {
  if (waited_) return;
  Expects(detail::is_valid_handle(handle_));
  const HANDLE process = detail::as_handle(handle_);
  if (!::TerminateProcess(process, detail::killed_exit_code)) {
    // A process that has already ended refuses with ERROR_ACCESS_DENIED: nothing to do.
    const DWORD error = ::GetLastError();
    if (::WaitForSingleObject(process, 0) == WAIT_OBJECT_0) return;
    detail::throw_win32(error, "TerminateProcess(child " + std::to_string(pid_) + ")");
  }
}

}  // namespace interproc
