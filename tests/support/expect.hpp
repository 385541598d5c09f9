// SPDX-License-Identifier: MIT
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <system_error>

// Runs `statement`, which must throw std::system_error with `expected_code`; its message must
// contain `text`.
#define EXPECT_SYSTEM_ERROR(statement, expected_code, text)                    \
  do {                                                                         \
    try {                                                                      \
      statement;                                                               \
      ADD_FAILURE() << #statement " did not throw";                            \
    } catch (const std::system_error& error_) {                                \
      EXPECT_EQ(error_.code(), (expected_code)) << error_.what();              \
      EXPECT_NE(std::string(error_.what()).find(text), std::string::npos)      \
          << "message \"" << error_.what() << "\" lacks \"" << (text) << "\""; \
    }                                                                          \
  } while (false)
