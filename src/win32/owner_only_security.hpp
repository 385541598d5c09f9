// SPDX-License-Identifier: MIT
#pragma once
// Security attributes for the named objects interproc creates in the session's namespace
// ("Local\..."): named segments and spawn_child's bootstrap sections, which only the
// current user may open.

#include "common/native_handle.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

#include <vector>

namespace interproc::detail {

// SECURITY_ATTRIBUTES whose DACL grants GENERIC_ALL to the current user (the TokenUser SID
// of the process token) and nobody else; the handle itself is not inheritable.
class OwnerOnlySecurity {
 public:
  OwnerOnlySecurity() {
    PSID user = current_user();
    const DWORD acl_size = static_cast<DWORD>(sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE)) + ::GetLengthSid(user);
    acl_.resize(acl_size);
    auto* acl = reinterpret_cast<ACL*>(acl_.data());
    if (!::InitializeAcl(acl, acl_size, ACL_REVISION)) fail_last_error("InitializeAcl", "owner-only DACL");
    if (!::AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, user)) {
      fail_last_error("AddAccessAllowedAce", "owner-only DACL");
    }
    if (!::InitializeSecurityDescriptor(&descriptor_, SECURITY_DESCRIPTOR_REVISION)) {
      fail_last_error("InitializeSecurityDescriptor", "owner-only DACL");
    }
    if (!::SetSecurityDescriptorDacl(&descriptor_, TRUE, acl, FALSE)) {
      fail_last_error("SetSecurityDescriptorDacl", "owner-only DACL");
    }
    attributes_ = SECURITY_ATTRIBUTES{sizeof(SECURITY_ATTRIBUTES), &descriptor_, FALSE};
  }
  OwnerOnlySecurity(const OwnerOnlySecurity&) = delete;  // attributes_ points into *this
  OwnerOnlySecurity& operator=(const OwnerOnlySecurity&) = delete;

  SECURITY_ATTRIBUTES* get() noexcept { return &attributes_; }

 private:
  PSID current_user() {
    HANDLE token = nullptr;
    if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) {
      fail_last_error("OpenProcessToken", "TOKEN_QUERY");
    }
    const ScopedHandle owned_token(from_handle(token));
    DWORD needed = 0;
    ::GetTokenInformation(token, TokenUser, nullptr, 0, &needed);  // fails, reporting the size
    token_user_.resize(needed);
    if (needed == 0 || !::GetTokenInformation(token, TokenUser, token_user_.data(), needed, &needed)) {
      fail_last_error("GetTokenInformation", "TokenUser");
    }
    return reinterpret_cast<TOKEN_USER*>(token_user_.data())->User.Sid;
  }

  std::vector<unsigned char> token_user_;  // TOKEN_USER and the SID it points to
  std::vector<unsigned char> acl_;
  SECURITY_DESCRIPTOR descriptor_{};
  SECURITY_ATTRIBUTES attributes_{};
};

}  // namespace interproc::detail
