/* SPDX-License-Identifier: MIT */
/* What the fuzz targets assert: a failed CHECK aborts, so libFuzzer keeps the input. */
#ifndef DDUBLK_TESTS_FUZZ_CHECK_H
#define DDUBLK_TESTS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                                 \
			abort();                                                        \
		}                                                                       \
	} while (0)

#endif
