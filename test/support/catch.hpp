#pragma once

// The one place that includes Catch2 (v2 API, Debian's catch2 2.13).
#include <catch2/catch.hpp>
