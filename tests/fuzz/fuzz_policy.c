/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the policy parser (conf/config.h) on arbitrary text.
 *
 * Besides not crashing: a refused policy says why, in a message that starts
 * with the file name, and leaves *out untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_check.h"

#include "conf/config.h"

#define NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c, before;
	char *text = malloc(size + 1);
	char err[1024] = "";

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* an inner NUL just ends the text early */
	memset(&c, 0x5a, sizeof(c));
	memcpy(&before, &c, sizeof(c)); /* not "before = c": padding need not be copied */
	if (conf_load_string(text, NAME, &c, err, sizeof(err)) == 0) {
		conf_free(&c);
	} else {
		if (strncmp(err, NAME, strlen(NAME)) != 0)
			fprintf(stderr, "message: \"%s\"\n", err);
		CHECK(strncmp(err, NAME, strlen(NAME)) == 0);
		CHECK(memcmp(&c, &before, sizeof(c)) == 0);
	}
	free(text);
	return 0;
}
