// SPDX-License-Identifier: MIT
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <windows.h>
#include <aclapi.h>
#include <tlhelp32.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace interproc::test {
namespace {

std::vector<BYTE> current_user_sid() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return {};
  DWORD size = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  std::vector<BYTE> buffer(size);
  const BOOL ok = GetTokenInformation(token, TokenUser, buffer.data(), size, &size);
  CloseHandle(token);
  if (!ok) return {};
  PSID sid = reinterpret_cast<TOKEN_USER*>(buffer.data())->User.Sid;
  std::vector<BYTE> copy(GetLengthSid(sid));
  CopySid(static_cast<DWORD>(copy.size()), copy.data(), sid);
  return copy;
}

// Real Windows opens and caches handles lazily on a process's first CreateProcessW (and on
// the first use of the pieces spawn_child needs), so a leak test's baseline taken before
// any spawn would count those as leaks. One spawn and wait, passing a segment and a mutex
// as the tests do, and one named object, before the first count.
INTERPROC_CHILD_ENTRY(test_os_warm_up) { return ctx.object_count() == 2 ? 0 : 1; }

int warm_up_result = -1;  // the warm-up child's exit code; -1 before it ran

void warm_up() {
  static const bool done = [] {
    const auto segment = SharedSegment::create(64);
    const auto mutex = InterprocessMutex::create();
    warm_up_result = spawn_child("test_os_warm_up", {}, {segment, mutex}).wait();
    // The first named object, and the first missing one, open handles that are kept (the
    // session's named-object directory, under Wine 2 of them).
    const std::string name = "warm-up." + std::to_string(GetCurrentProcessId());
    { const auto named = SharedSegment::create_named(name, 64); }
    try {
      (void)SharedSegment::open_named(name);
    } catch (const std::system_error&) {
    }
    return true;
  }();
  (void)done;
}

}  // namespace

int handle_count_warm_up_result() { return warm_up_result; }

std::size_t open_handle_count() {
  warm_up();
  std::size_t count = 0;
  for (std::uintptr_t value = 4; value < handle_probe_limit; value += 4) {
    DWORD flags = 0;
    if (GetHandleInformation(reinterpret_cast<HANDLE>(value), &flags)) ++count;
  }
  return count;
}

std::chrono::milliseconds cpu_time() {
  FILETIME created{}, exited{}, kernel{}, user{};
  if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) return std::chrono::milliseconds(-1);
  const auto ticks = [](const FILETIME& t) {
    return (static_cast<std::uint64_t>(t.dwHighDateTime) << 32) | t.dwLowDateTime;
  };
  return std::chrono::milliseconds((ticks(kernel) + ticks(user)) / 10000);  // 100 ns units
}

bool handle_is_open(std::intptr_t handle) {
  DWORD flags = 0;
  return GetHandleInformation(reinterpret_cast<HANDLE>(handle), &flags) != 0;
}

namespace {

DWORD parent_process_id() {
  const HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return 0;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  DWORD parent = 0;
  for (BOOL more = Process32FirstW(snapshot, &entry); more; more = Process32NextW(snapshot, &entry)) {
    if (entry.th32ProcessID == GetCurrentProcessId()) parent = entry.th32ParentProcessID;
  }
  CloseHandle(snapshot);
  return parent;
}

}  // namespace

bool holds_parent_handle(std::intptr_t parent_handle) {
  // CompareObjectHandles: Windows 10 and Wine; before that, the value is all there is.
  using Compare = BOOL(WINAPI*)(HANDLE, HANDLE);
  const HMODULE kernelbase = GetModuleHandleW(L"kernelbase.dll");
  const FARPROC proc = kernelbase != nullptr ? GetProcAddress(kernelbase, "CompareObjectHandles") : nullptr;
  const HANDLE parent = proc != nullptr ? OpenProcess(PROCESS_DUP_HANDLE, FALSE, parent_process_id()) : nullptr;
  HANDLE theirs = nullptr;
  if (parent == nullptr || !DuplicateHandle(parent, reinterpret_cast<HANDLE>(parent_handle), GetCurrentProcess(),
                                            &theirs, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
    if (parent != nullptr) CloseHandle(parent);
    return handle_is_open(parent_handle);
  }
  const auto compare = reinterpret_cast<Compare>(reinterpret_cast<void (*)()>(proc));
  bool held = false;
  for (std::uintptr_t value = 4; value <= 16384 && !held; value += 4) {
    const auto h = reinterpret_cast<HANDLE>(value);
    DWORD flags = 0;
    if (h != theirs && GetHandleInformation(h, &flags)) held = compare(h, theirs) != FALSE;
  }
  CloseHandle(theirs);
  CloseHandle(parent);
  return held;
}

int named_segment_access_bits(const std::string& name) {
  const std::wstring wide = L"Local\\interproc." + std::wstring(name.begin(), name.end());
  HANDLE mapping = OpenFileMappingW(READ_CONTROL | FILE_MAP_READ, FALSE, wide.c_str());
  if (mapping == nullptr) return -1;
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  const DWORD result = GetSecurityInfo(mapping, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, nullptr, nullptr, &dacl,
                                       nullptr, &descriptor);
  CloseHandle(mapping);
  if (result != ERROR_SUCCESS) return -1;
  std::unique_ptr<void, decltype(&LocalFree)> owner(descriptor, &LocalFree);
  if (dacl == nullptr || dacl->AceCount != 1) return 0777;
  void* ace = nullptr;
  if (!GetAce(dacl, 0, &ace) || static_cast<ACE_HEADER*>(ace)->AceType != ACCESS_ALLOWED_ACE_TYPE) return 0777;
  PSID sid = &static_cast<ACCESS_ALLOWED_ACE*>(ace)->SidStart;
  std::vector<BYTE> me = current_user_sid();
  return !me.empty() && EqualSid(sid, me.data()) ? 0600 : 0777;
}

bool is_windows() { return true; }

long current_pid() { return static_cast<long>(::GetCurrentProcessId()); }

long parent_pid() { return -1; }

void set_environment_variable(const std::string& name, const std::string& value) {
  ::SetEnvironmentVariableW(std::wstring(name.begin(), name.end()).c_str(),
                            std::wstring(value.begin(), value.end()).c_str());  // ASCII in the tests
}

void hang() {
  for (;;) Sleep(INFINITE);
}

bool write_raw(std::intptr_t handle, const void* bytes, std::size_t size) {
  DWORD written = 0;
  return WriteFile(reinterpret_cast<HANDLE>(handle), bytes, static_cast<DWORD>(size), &written, nullptr) &&
         written == size;
}

void die_abruptly() {
  TerminateProcess(GetCurrentProcess(), 99);
  ExitProcess(99);
}

}  // namespace interproc::test

namespace interproc::test {

namespace {
std::wstring widen(const std::string& s) {
  const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), w.data(), n);
  return w;
}
}  // namespace

std::string to_utf8(const std::wstring& w) {
  const int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), nullptr, 0, nullptr, nullptr);
  std::string s(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), s.data(), n, nullptr, nullptr);
  return s;
}

std::string copy_of_self(const std::string& file_name) {
  wchar_t self[MAX_PATH];
  const DWORD length = GetModuleFileNameW(nullptr, self, MAX_PATH);
  std::wstring folder(self, length);
  folder.resize(folder.find_last_of(L'\\') + 1);
  const std::wstring copy = folder + widen(file_name);
  if (!CopyFileW(self, copy.c_str(), FALSE)) return {};
  return to_utf8(copy);
}

bool remove_file(const std::string& path) { return DeleteFileW(widen(path).c_str()) != 0; }

bool rename_file(const std::string& from, const std::string& to) {
  return MoveFileExW(widen(from).c_str(), widen(to).c_str(), MOVEFILE_REPLACE_EXISTING) != 0;
}

// A running program cannot be deleted or replaced on Windows: nothing to write or run.
void write_script(const std::string&, int) {}
bool spawns_running_image() { return false; }

std::optional<int> run_with_process_limit(int (*)()) { return std::nullopt; }

int run_unrelated_child(const std::vector<std::string>& args, const std::string& probe, const std::string& program) {
  wchar_t self_buffer[MAX_PATH];
  const DWORD length = GetModuleFileNameW(nullptr, self_buffer, MAX_PATH);
  const std::wstring self = program.empty() ? std::wstring(self_buffer, length) : widen(program);
  std::wstring command = L"\"" + self + L"\"";
  for (const auto& a : args) command += L" " + widen(a);  // the probes' arguments need no quoting
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION info{};
  _putenv_s("INTERPROC_TEST_PROBE", probe.c_str());
  const BOOL started =
      CreateProcessW(self.c_str(), command.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &startup, &info);
  _putenv_s("INTERPROC_TEST_PROBE", "");
  if (!started) return -1;
  WaitForSingleObject(info.hProcess, INFINITE);
  DWORD code = 0;
  GetExitCodeProcess(info.hProcess, &code);
  CloseHandle(info.hThread);
  CloseHandle(info.hProcess);
  return static_cast<int>(code);
}

int unreaped_children() { return 0; }

std::vector<std::string> leftover_anonymous_names() { return {}; }

std::vector<std::string> pool_arena_names() { return {}; }
std::vector<std::string> lasting_new_pool_arena_names(const std::vector<std::string>&) { return {}; }

bool forbid_new_descriptors(int) { return false; }

void allow_new_descriptors() {}

std::optional<bool> other_user_can_open(const std::string&) { return std::nullopt; }

}  // namespace interproc::test

namespace interproc::test {

bool thread_end_detected() { return true; }  // the owner word waits on the owner's thread handle

std::string temporary_file_with(const std::string& text, std::size_t size) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("interproc-test-" + std::to_string(::GetCurrentProcessId()) + "-" + std::to_string(::GetTickCount64()));
  std::string content = text;
  content.resize(size, '\0');
  std::ofstream(path, std::ios::binary).write(content.data(), static_cast<std::streamsize>(content.size()));
  return path.string();
}

std::intptr_t open_read_write(const std::string& path) {
  SECURITY_ATTRIBUTES inherit{sizeof inherit, nullptr, TRUE};
  const HANDLE h = ::CreateFileA(path.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                 &inherit, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  return h == INVALID_HANDLE_VALUE ? -1 : reinterpret_cast<std::intptr_t>(h);
}

void close_handle(std::intptr_t handle) { ::CloseHandle(reinterpret_cast<HANDLE>(handle)); }

// POSIX-only conditions: handles are never 0-2, there is no /dev/shm, no umask, no mode bits.
std::optional<int> run_with_closed_standard_streams(const std::vector<std::string>&, const std::string&) {
  return std::nullopt;
}
std::optional<int> run_with_small_shm(int (*)()) { return std::nullopt; }
std::optional<int> run_with_umask(unsigned, int (*)()) { return std::nullopt; }
bool plant_world_writable_segment(const std::string&) { return false; }
bool plant_at_name(const std::string&, Planted) { return false; }
void remove_planted(const std::string&) {}
bool shm_objects_have_times() { return false; }
std::optional<bool> segment_created_by_other_user(const std::string&) { return std::nullopt; }

}  // namespace interproc::test

namespace interproc::test {

bool process_exists(long pid) {
  const HANDLE process = OpenProcess(SYNCHRONIZE, FALSE, static_cast<DWORD>(pid));
  if (process == nullptr) return false;
  const bool running = WaitForSingleObject(process, 0) == WAIT_TIMEOUT;
  CloseHandle(process);
  return running;
}

void kill_by_pid(long pid) {
  const HANDLE process = OpenProcess(PROCESS_TERMINATE, FALSE, static_cast<DWORD>(pid));
  if (process == nullptr) return;
  TerminateProcess(process, 9);
  CloseHandle(process);
}

void ignore_terminate_request() {}

void exit_on_terminate_request(int /*code*/) {}

bool die_at_next_futex_wake() { return false; }

void let_faults_kill() { ::SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX); }

bool is_memory_fault(int code) { return static_cast<DWORD>(code) == 0xC0000005u; }

int make_writable(void* address, std::size_t size) {
  DWORD old = 0;
  return ::VirtualProtect(address, size, PAGE_READWRITE, &old) ? 0 : static_cast<int>(::GetLastError());
}

int map_for_writing(std::intptr_t handle, std::size_t size) {
  void* view = ::MapViewOfFile(reinterpret_cast<HANDLE>(handle), FILE_MAP_WRITE, 0, 0, size);
  if (view == nullptr) return static_cast<int>(::GetLastError());
  ::UnmapViewOfFile(view);
  return 0;
}

bool is_write_refusal(int error) { return error == ERROR_ACCESS_DENIED || error == ERROR_INVALID_PARAMETER; }

}  // namespace interproc::test
