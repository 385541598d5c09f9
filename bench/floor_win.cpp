// SPDX-License-Identifier: MIT
// The Windows floors and peers: VirtualAlloc, a bare pagefile-backed section, a kernel mutex (CreateMutex, then
// WaitForSingleObject + ReleaseMutex per lock), and a bare CreateProcess + wait.

#include "bench.hpp"

#include <windows.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace bench {
namespace {

[[noreturn]] void fail_last_error(const char* call) {
  throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(), call);
}

// ---- virtualalloc_floor ----

void virtualalloc_touch(std::size_t bytes) {
  void* p = ::VirtualAlloc(nullptr, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (p == nullptr) fail_last_error("VirtualAlloc");
  touch_pages(p, bytes, page_size());
  ::VirtualFree(p, 0, MEM_RELEASE);
}

// ---- section_floor: a pagefile-backed section, what SharedSegment::create uses, bare ----

void section_touch(std::size_t bytes) {
  const auto size = static_cast<unsigned long long>(bytes);
  HANDLE section = ::CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, static_cast<DWORD>(size >> 32),
                                        static_cast<DWORD>(size & 0xffffffffu), nullptr);
  if (section == nullptr) fail_last_error("CreateFileMappingW");
  void* p = ::MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
  if (p == nullptr) fail_last_error("MapViewOfFile");
  touch_pages(p, bytes, page_size());
  ::UnmapViewOfFile(p);
  ::CloseHandle(section);
}

// ---- kernel_mutex: one process only (the handle is not passed to the workers) ----

HANDLE kernel_mutex(const Workspace& ws) {
  HANDLE h;
  std::memcpy(&h, ws.shared.lock, sizeof h);
  return h;
}

void kernel_setup(Workspace& ws) {
  HANDLE h = ::CreateMutexW(nullptr, FALSE, nullptr);
  if (h == nullptr) fail_last_error("CreateMutexW");
  std::memcpy(ws.shared.lock, &h, sizeof h);
}

void kernel_teardown(Workspace& ws) { ::CloseHandle(kernel_mutex(ws)); }

struct KernelLock {
  HANDLE h;
  void lock() { ::WaitForSingleObject(h, INFINITE); }
  void unlock() { ::ReleaseMutex(h); }
};

void kernel_increments(Workspace& ws, long n) {
  KernelLock lock{kernel_mutex(ws)};
  locked_increments(lock, ws.shared.counter, n);
}

// ---- createprocess_floor: this program with exit_now_flag, then wait ----

std::wstring own_path() {
  std::wstring path(32768, L'\0');
  const DWORD n = ::GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
  if (n == 0 || n >= path.size()) fail_last_error("GetModuleFileNameW");
  path.resize(n);
  return path;
}

// The started process's handle.
HANDLE create_process(const std::wstring& path) {
  std::wstring command = L"\"" + path + L"\" --exit-now";
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION info{};
  if (!::CreateProcessW(path.c_str(), command.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr, &startup, &info)) {
    fail_last_error("CreateProcessW");
  }
  ::CloseHandle(info.hThread);
  return info.hProcess;
}

// Waits for the process, closes its handle, throws unless it exited with 0.
void join_process(HANDLE process) {
  ::WaitForSingleObject(process, INFINITE);
  DWORD code = 1;
  ::GetExitCodeProcess(process, &code);
  ::CloseHandle(process);
  if (code != 0) throw std::runtime_error("createprocess_floor: child failed");
}

void create_processes_then_join(const std::wstring& path, int children) {
  std::vector<HANDLE> processes;
  for (int i = 0; i < children; ++i) processes.push_back(create_process(path));
  for (HANDLE process : processes) join_process(process);
}

}  // namespace

const bool has_fork = false;

std::size_t page_size() {
  SYSTEM_INFO info;
  ::GetSystemInfo(&info);
  return info.dwPageSize;
}

std::vector<TouchImpl> touch_floors() {
  return {{"virtualalloc_floor", virtualalloc_touch}, {"section_floor", section_touch}};
}

std::vector<LockImpl> platform_locks() {
  return {{"kernel_mutex", false, kernel_setup, kernel_teardown, kernel_increments}};
}

std::vector<SpawnImpl> spawn_floors(const std::string&) {
  return {{"createprocess_floor", [path = own_path()] { join_process(create_process(path)); }}};
}

std::vector<BurstImpl> burst_floors(const std::string&) {
  return {{"createprocess_floor", [path = own_path()](int children) { create_processes_then_join(path, children); }}};
}

std::vector<MessageFloor> message_floors() { return {}; }

std::vector<ThroughputFloor> throughput_floors() { return {}; }

std::vector<MessageFloor> socket_floors() { return {}; }

}  // namespace bench
