#include "support/test_os.hpp"

#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace interproc::test {

std::size_t open_handle_count() {
  std::size_t count = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) ++count;
  }
  return count;
}

bool handle_is_open(std::intptr_t handle) { return ::fcntl(static_cast<int>(handle), F_GETFD) != -1; }

int named_segment_access_bits(const std::string& name) {
  const int fd = ::shm_open(("/" + name).c_str(), O_RDONLY, 0);
  if (fd < 0) return -1;
  struct stat st {};
  const int result = ::fstat(fd, &st);
  ::close(fd);
  return result == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

bool is_windows() { return false; }

void hang() {
  for (;;) ::pause();
}

void die_abruptly() {
  ::kill(::getpid(), SIGKILL);
  ::_exit(99);
}

}  // namespace interproc::test
