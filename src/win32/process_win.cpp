// SPDX-License-Identifier: MIT
// Windows child processes: CreateProcessW of this program's own executable, created
// suspended until its objects are handed over (handoff_win.cpp), with only the standard
// handles inherited; WaitForSingleObject and TerminateProcess for Child; a job object of
// its own for die_with_parent and own_process_group.

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "win32/handoff_win.hpp"
#include "win32/pipes_win.hpp"
#include "win32/text_win.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

#include <algorithm>
#include <cstdlib>
#include <array>
#include <cstring>
#include <cwchar>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace interproc::detail {
namespace {

// CreateProcessW's lpCommandLine holds at most 32767 characters with its terminating NUL.
constexpr std::size_t max_command_line = 32767;

// ---- the environment: the parent's or SpawnOptions', plus the guard marker ----

constexpr auto marker_name() noexcept {
  std::array<wchar_t, sizeof guard_marker_name> name{};
  for (std::size_t i = 0; i < name.size(); ++i) name[i] = static_cast<wchar_t>(guard_marker_name[i]);
  return name;
}
constexpr auto wide_marker = marker_name();

// An entry's name: up to its '=' ("=C:=C:\dir" entries, the per-drive directories, start
// with one, which is part of the name).
std::wstring_view name_of(std::wstring_view entry) noexcept { return entry.substr(0, entry.find(L'=', 1)); }

// Names compare as the OS does and as the block is sorted: ordinal, ignoring case
// (CreateProcessW's documentation, "Changing Environment Variables").
int compare_names(std::wstring_view a, std::wstring_view b) noexcept {
  return ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(), static_cast<int>(b.size()), TRUE) -
         CSTR_EQUAL;
}

bool same_name(std::wstring_view a, std::wstring_view b) noexcept { return compare_names(a, b) == 0; }

std::wstring wide(const char* ascii) { return std::wstring(ascii, ascii + std::strlen(ascii)); }

// What SpawnOptions sets, as UTF-16 entries; two names that differ only in case are one
// variable on Windows, so giving both is refused.
std::vector<std::wstring> chosen_entries(const SpawnOptions& options) {
  std::vector<std::wstring> entries;
  for (const auto& [name, value] : options.env) {
    const std::wstring entry = to_utf16(name) + L"=" + to_utf16(value);
    for (const std::wstring& other : entries) {
      if (same_name(name_of(other), name_of(entry)))
        fail(errc::invalid_argument, "SpawnOptions::env names " + quoted(name) + " twice (Windows ignores case)");
    }
    entries.push_back(entry);
  }
  return entries;
}

// The parent's entries (unless options.clear_env) that the child keeps: not a marker, not
// unset, not replaced by `chosen`.
std::vector<std::wstring> kept_entries(const SpawnOptions& options, const std::vector<std::wstring>& chosen) {
  std::vector<std::wstring> dropped{wide(guard_marker_name), wide(lifetime_marker_name)};
  for (const std::string& name : options.unset_env) dropped.push_back(to_utf16(name));
  for (const std::wstring& entry : chosen) dropped.emplace_back(name_of(entry));
  std::vector<std::wstring> kept;
  if (options.clear_env) return kept;
  wchar_t* strings = ::GetEnvironmentStringsW();
  if (strings == nullptr) fail_last_error("GetEnvironmentStringsW", "this process");
  for (const wchar_t* entry = strings; *entry != L'\0'; entry += std::wcslen(entry) + 1) {
    const std::wstring_view name = name_of(entry);
    if (std::none_of(dropped.begin(), dropped.end(), [&](const std::wstring& d) { return same_name(d, name); }))
      kept.emplace_back(entry);
  }
  ::FreeEnvironmentStringsW(strings);
  return kept;
}

// The child's environment block: kept and chosen entries and "<marker>=1", sorted by name
// (CreateProcessW asks for a sorted block), each ended by a NUL, then one NUL more.
std::wstring environment_block(const SpawnOptions& options) {
  std::vector<std::wstring> entries = chosen_entries(options);
  std::vector<std::wstring> kept = kept_entries(options, entries);
  entries.insert(entries.end(), kept.begin(), kept.end());
  entries.push_back(wide(guard_marker_name) + L"=1");
  std::stable_sort(entries.begin(), entries.end(), [](const std::wstring& a, const std::wstring& b) {
    return compare_names(name_of(a), name_of(b)) < 0;
  });
  std::wstring block;
  for (const std::wstring& entry : entries) block.append(entry).push_back(L'\0');
  block.push_back(L'\0');
  return block;
}

// ---- the directory, and files for the standard streams ----

// A path that is not there as ENOENT, a file where a directory is needed as ENOTDIR: the
// codes POSIX gives, so a caller tests one code on every OS; the message keeps Windows'.
[[noreturn]] void fail_path(DWORD error, const std::string& what) {
  const std::string message = what + ": " + std::system_category().message(static_cast<int>(error));
  if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND || error == ERROR_INVALID_NAME)
    throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory), message);
  if (error == ERROR_DIRECTORY) throw std::system_error(std::make_error_code(std::errc::not_a_directory), message);
  throw_win32(error, message);
}

// The child's directory as a full path (lpCurrentDirectory takes no relative one), checked
// to be a directory before the child is created.
std::wstring child_directory(const std::string& cwd) {
  const std::string shown = "the child's directory " + quoted(cwd);
  const std::wstring path = to_utf16(cwd);
  const DWORD attributes = ::GetFileAttributesW(path.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) fail_path(::GetLastError(), shown);
  if ((attributes & FILE_ATTRIBUTE_DIRECTORY) == 0) fail_path(ERROR_DIRECTORY, shown);
  const DWORD size = ::GetFullPathNameW(path.c_str(), 0, nullptr, nullptr);
  std::wstring full(size, L'\0');
  const DWORD length = ::GetFullPathNameW(path.c_str(), size, full.data(), nullptr);
  if (size == 0 || length == 0 || length >= size) fail_path(::GetLastError(), shown);
  full.resize(length);
  return full;
}

ScopedHandle open_for(int stream, const std::string& path, bool append) {
  const std::wstring wide_path = to_utf16(path);
  const DWORD access = stream == 0 ? GENERIC_READ : append ? FILE_APPEND_DATA : GENERIC_WRITE;
  const DWORD disposition = stream == 0 ? OPEN_EXISTING : append ? OPEN_ALWAYS : CREATE_ALWAYS;
  ScopedHandle file(
      from_handle(::CreateFileW(wide_path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                nullptr, disposition, FILE_ATTRIBUTE_NORMAL, nullptr)));
  if (!file.valid()) fail_path(::GetLastError(), "CreateFileW(" + quoted(path) + ") for the child's stream");
  return file;
}

// The standard streams SpawnOptions chose and this process's ends of the pipes among them.
struct StreamChoice {
  ScopedHandle streams[3];  // invalid: this process's own
  ChildPipes pipes;
};

void choose_stream(StreamChoice& choice, int stream, const Redirect& redirect) {
  switch (redirect.kind) {
    case Redirect::Kind::inherit: return;
    case Redirect::Kind::null_device: choice.streams[stream] = open_for(stream, "NUL", false); return;
    case Redirect::Kind::file: choice.streams[stream] = open_for(stream, redirect.path, redirect.append); return;
    case Redirect::Kind::pipe: {
      ChildPipeEnds ends = make_child_pipe(stream);
      choice.pipes.ends[stream] = std::move(ends.mine);
      choice.pipes.piped[stream] = true;
      choice.streams[stream] = std::move(ends.theirs);
      return;
    }
  }
}

StreamChoice choose_streams(const SpawnOptions& options) {
  StreamChoice choice;
  choose_stream(choice, 0, options.std_in);
  choose_stream(choice, 1, options.std_out);
  choose_stream(choice, 2, options.std_err);
  return choice;
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

// The three standard handles as the child receives them (this process's, or those SpawnOptions
// chose: the null device, a file, a pipe end). PROC_THREAD_ATTRIBUTE_HANDLE_LIST
// only accepts inheritable handles; one that is not gets an inheritable duplicate, closed
// once CreateProcessW has returned, so this process's own handles are never changed. (A
// standard handle is no shared object: another program that catches such a duplicate
// gets nothing the console or the parent's parent did not already give it.) A missing
// or stale handle becomes NULL, which must not make spawning fail.
class StandardHandles {
 public:
  // `chosen`: the streams SpawnOptions chose, invalid where the child takes this process's.
  explicit StandardHandles(const ScopedHandle (&chosen)[3]) {
    const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int i = 0; i < 3; ++i)
      values_[i] = for_child(chosen[i].valid() ? as_handle(chosen[i].get()) : ::GetStdHandle(which[i]));
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

  // Lets the child run; it is then `job`'s (if valid) as well as the returned process's.
  ChildProcess resume(const std::string& shown, ScopedHandle job) {
    if (::ResumeThread(info_.hThread) == static_cast<DWORD>(-1)) fail_last_error("ResumeThread", shown);
    ::CloseHandle(info_.hThread);
    const HANDLE process = std::exchange(info_.hProcess, nullptr);
    ChildProcess child;
    child.pid = static_cast<long>(info_.dwProcessId);
    child.handle = ScopedHandle(from_handle(process));
    child.job = std::move(job);
    return child;
  }

 private:
  PROCESS_INFORMATION info_;
};

// One job per child, made only when SpawnOptions asks for one: a job per parent would put
// every die_with_parent child into one job, which kill_tree() could not end child by child.
// CreateJobObjectW with no attributes gives a handle that is not inheritable, and the job has
// no name, so this process holds its only handle. die_with_parent: the system ends every
// process in the job when its last handle closes (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE), and
// this process's handles close however it dies. The child is assigned while it is still
// suspended, so it runs no code outside the job, and its descendants are in it too.
ScopedHandle job_for(HANDLE child, const SpawnOptions& options) {
  if (!options.die_with_parent && !options.own_process_group) return ScopedHandle();
  ScopedHandle job(from_handle(::CreateJobObjectW(nullptr, nullptr)));
  if (!job.valid()) fail_last_error("CreateJobObjectW", "child " + std::to_string(::GetProcessId(child)));
  if (options.die_with_parent) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!::SetInformationJobObject(as_handle(job.get()), JobObjectExtendedLimitInformation, &limits, sizeof limits)) {
      fail_last_error("SetInformationJobObject", "JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE");
    }
  }
  // Windows 7 refuses a process that is in a job already (no nested jobs before Windows 8).
  if (!::AssignProcessToJobObject(as_handle(job.get()), child)) {
    fail_last_error("AssignProcessToJobObject", "child " + std::to_string(::GetProcessId(child)));
  }
  return job;
}

}  // namespace

bool guard_marker_present() noexcept {
  // A variable's required buffer size, counting its NUL: never 0 when it exists.
  return ::GetEnvironmentVariableW(wide_marker.data(), nullptr, 0) != 0;
}

// The C runtime keeps its own copy of the environment, read once at start (getenv sees
// that copy): _wputenv_s with an empty value removes the marker there too.
void remove_guard_marker() noexcept {
  ::_wputenv_s(wide_marker.data(), L"");
  ::SetEnvironmentVariableW(wide_marker.data(), nullptr);
}

ChildProcess launch_spawn(const std::string& path, ChildToken token, const std::vector<std::string>& args,
                          const SpawnOptions& options) {
  const std::string shown = quoted(path);
  const std::wstring application = to_utf16(path);
  std::wstring environment = environment_block(options);
  const std::optional<std::wstring> directory =
      options.cwd.empty() ? std::nullopt : std::optional<std::wstring>(child_directory(options.cwd));
  StreamChoice choice = choose_streams(options);

  const StandardHandles standard(choice.streams);
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
  const std::string boot_argument = new_boot_argument();
  std::vector<std::string> argv{path, std::string(child_flag) + boot_argument};
  argv.insert(argv.end(), args.begin(), args.end());
  std::wstring line = command_line(argv);
  if (line.size() >= max_command_line) {
    fail(errc::invalid_argument, "spawn_child: the command line takes " + std::to_string(line.size()) +
                                     " UTF-16 characters, CreateProcessW takes at most " +
                                     std::to_string(max_command_line - 1));
  }

  PROCESS_INFORMATION info{};
  if (!::CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, inherited.empty() ? FALSE : TRUE, flags,
                        environment.data(), directory ? directory->c_str() : nullptr, &startup.StartupInfo, &info)) {
    fail_last_error("CreateProcessW", shown);
  }
  SuspendedChild child(info);  // terminated if anything below throws
  ScopedHandle job = job_for(child.process(), options);
  hand_over(child.process(), boot_argument, std::move(token));
  ChildProcess started = child.resume(shown, std::move(job));
  started.pipes = std::move(choice.pipes);
  return started;
}

ChildProcess launch_fork(int (* /*body*/)(void*), void* /*data*/, const SpawnOptions& /*options*/) {
  fail(errc::not_supported, "StartMethod::fork is POSIX-only; use StartMethod::spawn on Windows");
}

ChildProcess launch_forkserver(ChildToken /*token*/, const std::vector<std::string>& /*args*/,
                               const SpawnOptions& /*options*/) {
  fail(errc::not_supported, "StartMethod::forkserver is POSIX-only; use StartMethod::spawn on Windows");
}

int serve_forks(PrepareChild /*prepare*/) { fail(errc::not_supported, "a fork server is POSIX-only"); }

std::optional<int> wait_process(const ChildProcess& process, std::optional<Clock::time_point> deadline) {
  const HANDLE handle = as_handle(process.handle.get());
  for (;;) {
    // Waits longer than WaitForSingleObject counts (49.7 days) go in several steps.
    DWORD ms = INFINITE;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      ms = static_cast<DWORD>(std::clamp<std::chrono::milliseconds::rep>(left, 0, INFINITE - 1));
    }
    const DWORD result = ::WaitForSingleObject(handle, ms);
    if (result == WAIT_FAILED) {
      const DWORD error = ::GetLastError();
      throw_win32(error, "WaitForSingleObject(child " + std::to_string(process.pid) + ")");
    }
    if (result == WAIT_OBJECT_0) break;
    if (Clock::now() >= *deadline) return std::nullopt;
  }
  DWORD code = 0;
  if (!::GetExitCodeProcess(handle, &code)) {
    const DWORD error = ::GetLastError();
    throw_win32(error, "GetExitCodeProcess(child " + std::to_string(process.pid) + ")");
  }
  if (code == killed_exit_code) return killed_result;
  return static_cast<int>(code);  // NTSTATUS codes such as 0xC0000005 come out negative
}

void kill_process(const ChildProcess& process) {
  const HANDLE handle = as_handle(process.handle.get());
  if (!::TerminateProcess(handle, killed_exit_code)) {
    // A process that has already ended refuses with ERROR_ACCESS_DENIED: nothing to do.
    const DWORD error = ::GetLastError();
    if (::WaitForSingleObject(handle, 0) == WAIT_OBJECT_0) return;
    throw_win32(error, "TerminateProcess(child " + std::to_string(process.pid) + ")");
  }
}

}  // namespace interproc::detail

namespace interproc::detail {

// There is no request to end that every process honours: GenerateConsoleCtrlEvent reaches
// only console processes of one process group sharing this console, and WM_CLOSE only
// windows. So terminate() ends the child at once.
void terminate_process(const ChildProcess& process) { kill_process(process); }

void kill_process_tree(const ChildProcess& process) {
  if (!process.job.valid()) return kill_process(process);
  if (!::TerminateJobObject(as_handle(process.job.get()), killed_exit_code)) {
    fail_last_error("TerminateJobObject", "child " + std::to_string(process.pid) + "'s job");
  }
}

// Closing the job must not end descendants that outlived the child (they would live on under
// POSIX), so kill-on-close is lifted first; if that fails they end with the job.
// The kill-on-close job belongs to the process, not to a thread: any thread may start the child.
void run_on_lasting_thread(const std::function<void()>& body) { body(); }

void release_process(ChildProcess& process) noexcept {
  if (!process.job.valid()) return;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  ::SetInformationJobObject(as_handle(process.job.get()), JobObjectExtendedLimitInformation, &limits, sizeof limits);
}

// A Windows child dies with its parent through its job (job_for): nothing to do in the child.
void follow_parent_lifetime() {}

}  // namespace interproc::detail
