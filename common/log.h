/* SPDX-License-Identifier: MIT */
/*
 * Levelled logging to stderr.
 *
 * Every line carries a timestamp, the level and the message; daemons run
 * under systemd or a supervisor that adds the program name. The threshold is
 * process-wide by nature (it is set once by main() from --log-level or the
 * policy file) and is the only mutable global in the library code.
 */
#ifndef DDUBLK_COMMON_LOG_H
#define DDUBLK_COMMON_LOG_H

enum log_level {
	LOG_ERR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* "error", "warn", "info", "debug" -> level; -1 if the name is unknown. */
int log_level_from_name(const char *name);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                   \
	do {                                             \
		if (log_get_level() >= LOG_DEBUG)        \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
