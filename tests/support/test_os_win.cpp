#include "support/test_os.hpp"

#include <windows.h>
#include <aclapi.h>

#include <memory>
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

}  // namespace

std::size_t open_handle_count() {
  DWORD count = 0;
  GetProcessHandleCount(GetCurrentProcess(), &count);
  return count;
}

bool handle_is_open(std::intptr_t handle) {
  DWORD flags = 0;
  return GetHandleInformation(reinterpret_cast<HANDLE>(handle), &flags) != 0;
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

void hang() {
  for (;;) Sleep(INFINITE);
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

std::string copy_of_self() { return {}; }

std::optional<int> run_with_process_limit(int (*)()) { return std::nullopt; }

int run_unrelated_child(const std::vector<std::string>& args, const std::string& probe, const std::string&) {
  wchar_t self[MAX_PATH];
  GetModuleFileNameW(nullptr, self, MAX_PATH);
  std::wstring command = L"\"" + std::wstring(self) + L"\"";
  for (const auto& a : args) command += L" " + widen(a);  // the probes' arguments need no quoting
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION info{};
  _putenv_s("INTERPROC_TEST_PROBE", probe.c_str());
  const BOOL started = CreateProcessW(self, command.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &startup, &info);
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

std::optional<bool> other_user_can_open(const std::string&) { return std::nullopt; }

}  // namespace interproc::test
