// Windows child processes: CreateProcessW of this program's own executable, inheriting
// exactly the handles named in the token through PROC_THREAD_ATTRIBUTE_HANDLE_LIST, and
// interproc::Child's members (wait, kill) on the process handle.

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "win32/win_util.hpp"

#include <windows.h>
#include <shellapi.h>

#include <gsl/assert>

#include <algorithm>
#include <array>
#include <climits>
#include <cwchar>
#include <functional>
#include <map>
#include <mutex>
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
    if (arg.find('\0') != std::string::npos) {
      fail(errc::child_start_failed, "spawn_child: an argument contains a NUL character");
    }
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

// ---- the handles the child inherits ----

// PROC_THREAD_ATTRIBUTE_HANDLE_LIST only accepts inheritable handles, and the child must
// find the very values the token names, so the handles themselves are made inheritable
// (SetHandleInformation), not duplicates, and only while CreateProcessW runs; the list
// keeps a concurrent spawn from picking up the other's handles. Two spawns may share a
// handle, so it is counted, and the last one restores the handle's own flag. (Code outside
// this library that calls CreateProcess with bInheritHandles TRUE and no list could still
// catch a handle during that window.)
class InheritScope {
 public:
  explicit InheritScope(const std::vector<HANDLE>& handles) {
    for (const HANDLE h : handles) {
      if (!acquire(h)) {
        const DWORD error = ::GetLastError();
        release_all();
        throw_win32(error, "SetHandleInformation(handle " + std::to_string(reinterpret_cast<std::intptr_t>(h)) +
                                   ", HANDLE_FLAG_INHERIT)");
      }
      held_.push_back(h);
    }
  }
  InheritScope(const InheritScope&) = delete;
  InheritScope& operator=(const InheritScope&) = delete;
  ~InheritScope() { release_all(); }

 private:
  struct Use {
    int count = 0;
    DWORD original_flags = 0;
  };
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::map<HANDLE, Use>& uses() {
    static std::map<HANDLE, Use> table;
    return table;
  }

  static bool acquire(HANDLE h) {
    const std::lock_guard<std::mutex> hold(mutex());
    Use& use = uses()[h];
    if (use.count == 0 && (!::GetHandleInformation(h, &use.original_flags) ||
                           !::SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT))) {
      const DWORD error = ::GetLastError();
      uses().erase(h);
      ::SetLastError(error);
      return false;
    }
    ++use.count;
    return true;
  }
  void release_all() noexcept {
    const std::lock_guard<std::mutex> hold(mutex());
    for (const HANDLE h : held_) {
      auto it = uses().find(h);
      if (--it->second.count > 0) continue;
      ::SetHandleInformation(h, HANDLE_FLAG_INHERIT, it->second.original_flags & HANDLE_FLAG_INHERIT);
      uses().erase(it);
    }
    held_.clear();
  }

  std::vector<HANDLE> held_;
};

// The standard handles go to the child explicitly (STARTF_USESTDHANDLES), and so must be in
// the handle list too: a handle list without them would leave the child's std handle
// values pointing at nothing (under Wine its output is lost). Windows 7's console handles
// are pseudo handles (low bits 11, FILE_TYPE_CHAR) that no list accepts; the console
// passes those on by itself.
bool is_console_pseudo_handle(HANDLE h) noexcept {
  return (reinterpret_cast<std::uintptr_t>(h) & 3) == 3 && ::GetFileType(h) == FILE_TYPE_CHAR;
}

// A standard handle worth passing on: NULL when there is none or it is stale (closed),
// which must not make spawning fail.
HANDLE usable_std_handle(DWORD which) noexcept {
  const HANDLE h = ::GetStdHandle(which);
  DWORD flags = 0;
  if (!is_valid_handle(reinterpret_cast<native_handle>(h))) return nullptr;
  return is_console_pseudo_handle(h) || ::GetHandleInformation(h, &flags) ? h : nullptr;
}

void add_unique(std::vector<HANDLE>& list, HANDLE h) {
  if (!is_valid_handle(reinterpret_cast<native_handle>(h)) || is_console_pseudo_handle(h)) return;
  if (std::find(list.begin(), list.end(), h) == list.end()) list.push_back(h);  // duplicates are an error
}

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

  LPPROC_THREAD_ATTRIBUTE_LIST get() noexcept { return reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage_.data()); }

 private:
  std::vector<HANDLE> handles_;  // the list points into this; it must outlive CreateProcessW
  std::vector<unsigned char> storage_;
};

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
  std::vector<native_handle> inherited;  // inherited under their own values
  for (const std::uint64_t* handle : handle_fields(token)) inherited.push_back(static_cast<native_handle>(*handle));
  std::vector<std::string> argv{path, std::string(child_flag) + encode_token(token)};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string shown = quoted(path);
  const std::wstring application = to_utf16(path);
  std::wstring line = command_line(argv);
  std::wstring environment = environment_block();

  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof startup;
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = usable_std_handle(STD_INPUT_HANDLE);
  startup.StartupInfo.hStdOutput = usable_std_handle(STD_OUTPUT_HANDLE);
  startup.StartupInfo.hStdError = usable_std_handle(STD_ERROR_HANDLE);
  std::vector<HANDLE> handles;
  for (const native_handle h : inherited) add_unique(handles, as_handle(h));
  for (const HANDLE h : {startup.StartupInfo.hStdInput, startup.StartupInfo.hStdOutput, startup.StartupInfo.hStdError}) {
    add_unique(handles, h);
  }

  DWORD flags = CREATE_UNICODE_ENVIRONMENT;
  std::optional<HandleListAttribute> attribute;
  if (!handles.empty()) {  // an empty handle list is invalid: then nothing is inherited
    attribute.emplace(handles);
    startup.lpAttributeList = attribute->get();
    flags |= EXTENDED_STARTUPINFO_PRESENT;
  }
  PROCESS_INFORMATION process{};
  {
    const InheritScope inheritable(handles);
    if (!::CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, handles.empty() ? FALSE : TRUE, flags,
                          environment.data(), nullptr, &startup.StartupInfo, &process)) {
      fail_last_error("CreateProcessW", shown);
    }
  }
  ::CloseHandle(process.hThread);
  return ChildAccess::make(static_cast<long>(process.dwProcessId), reinterpret_cast<native_handle>(process.hProcess));
}

std::string received_token(std::string_view argument) { return std::string(argument); }

Child launch_fork(const std::function<int()>& /*body*/) {
  fail(errc::not_supported, "StartMethod::fork is POSIX-only; use StartMethod::spawn on Windows");
}

// kill()'s exit code: TerminateProcess needs one, and wait() must tell it from any code an
// entry returns, so it is a value no program exits with by itself: not small, not an
// NTSTATUS (those have the top bits set), "KIL9" in ASCII. wait() reports it as -9, the
// SIGKILL death POSIX reports.
constexpr DWORD killed_exit_code = 0x4B494C39;
constexpr int killed_result = -9;

}  // namespace detail

// ---- interproc::Child on a process handle ----

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      handle_(std::exchange(other.handle_, detail::invalid_handle)),
      exit_code_(std::exchange(other.exit_code_, 0)),
      waited_(std::exchange(other.waited_, false)) {}

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
  const auto ms = std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, INFINITE - 1);
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
