/* SPDX-License-Identifier: MIT */
/*
 * ublk-ctl's help texts (ctl_help.c), and the defaults they document: one
 * definition for the text and the code that applies it.
 */
#ifndef DDUBLK_CTL_HELP_H
#define DDUBLK_CTL_HELP_H

#define DEFAULT_TIMEOUT "60" /* seconds, as --timeout takes them */
#define DEFAULT_METRICS_LISTEN "127.0.0.1:9580"

extern const char help_main[];
extern const char help_add[];
extern const char help_list[];
extern const char help_del[];
extern const char help_reload[];
extern const char help_features[];
extern const char help_stats[];
extern const char help_top[];
extern const char help_nq[];
extern const char help_serve_metrics[];
extern const char help_help[];

#endif
