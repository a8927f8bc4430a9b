#ifndef DATABUILD_CLI_OPTIONS_H
#define DATABUILD_CLI_OPTIONS_H

#include <stdio.h>

#include "core/strbuf.h"

/*
 * One option parser for the global options and every command, after
 * git's parse-options: a command lists its options in a table of struct
 * cli_option (ended by OPT_END()), each pointing at the variable it sets,
 * and cli_parse_options() reads argv against it.
 *
 * Accepted: --name, --name VALUE, --name=VALUE, -x, -x VALUE, -xVALUE.
 * A VALUE is taken as it is, even when it begins with '-'. "--" ends the
 * options (what follows is arguments); a lone "-" is an argument. -h and
 * --help print the usage made from the table on stdout; the hidden
 * --list-options prints the table for the bash completion, one option a
 * line: its names, then its ARGH if it takes a value, then its choices.
 *
 * Errors, printed on stderr in one wording for every command:
 *   databuild: CMD: unknown option 'X' (see 'databuild CMD --help')
 *   databuild: CMD: option 'X' needs a value
 *   databuild: CMD: option 'X' takes no value
 *   databuild: CMD: option 'X': expected an integer from MIN to MAX, got 'V'
 *   databuild: CMD: option 'X': <what a callback says>
 * ("CMD: " and "CMD " are left out for the global options.) X is the
 * option as typed: "-j" for -j4, "--jobs" for --jobs=4.
 */

enum cli_opt_type {
	CLI_OPT_END = 0,   /* ends a table */
	CLI_OPT_FLAG,      /* int *value = 1 */
	CLI_OPT_COUNT,     /* int *value += 1, once per occurrence (-v -v) */
	CLI_OPT_STRING,    /* const char **value = VALUE (points into argv; the last wins) */
	CLI_OPT_STRVEC,    /* struct strvec *value: VALUE pushed, once per occurrence */
	CLI_OPT_INT,       /* int *value = VALUE, an integer from min to max */
	CLI_OPT_LONG,      /* long *value = VALUE, an integer from min to max */
	CLI_OPT_CALLBACK,  /* cb(opt, VALUE or NULL for a flag, err) */
	CLI_OPT_HELP,      /* -h, --help: only to give the help line its own text */
	CLI_OPT_LIST,      /* --list-options (built in) */
};

enum cli_opt_flags {
	CLI_OPT_HIDDEN = 1 << 0,  /* not in the usage nor in --list-options */
};

struct cli_option {
	enum cli_opt_type type;
	char short_name;         /* 'j' for -j; 0: none */
	const char *long_name;   /* "jobs" for --jobs; NULL: none */
	void *value;             /* what the option sets (see enum cli_opt_type) */
	const char *argh;        /* the value's name in the usage ("N", "FILE"); NULL: a flag.
				    FILE and DIR complete as paths. */
	const char *help;        /* its usage text; each '\n' starts an indented line */
	long min, max;           /* CLI_OPT_INT, CLI_OPT_LONG: the bounds */
	const char *choices;     /* space-separated values the completion offers, or NULL
				    (checking them is the callback's or the command's) */
	/* CLI_OPT_CALLBACK: 0, or -1 with err saying what is wrong with arg */
	int (*cb)(const struct cli_option *opt, const char *arg, struct strbuf *err);
	unsigned flags;          /* enum cli_opt_flags */
};

#define OPT_END() { .type = CLI_OPT_END }
#define OPT_FLAG(s, l, v, h) \
	{ .type = CLI_OPT_FLAG, .short_name = (s), .long_name = (l), .value = (v), .help = (h) }
#define OPT_COUNT(s, l, v, h) \
	{ .type = CLI_OPT_COUNT, .short_name = (s), .long_name = (l), .value = (v), .help = (h) }
#define OPT_STRING(s, l, v, a, h) \
	{ .type = CLI_OPT_STRING, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h) }
#define OPT_STRVEC(s, l, v, a, h) \
	{ .type = CLI_OPT_STRVEC, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h) }
#define OPT_INT(s, l, v, a, lo, hi, h) \
	{ .type = CLI_OPT_INT, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .min = (lo), .max = (hi), .help = (h) }
#define OPT_LONG(s, l, v, a, lo, hi, h) \
	{ .type = CLI_OPT_LONG, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .min = (lo), .max = (hi), .help = (h) }
#define OPT_CALLBACK(s, l, v, a, f, h) \
	{ .type = CLI_OPT_CALLBACK, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .cb = (f), .help = (h) }
#define OPT_HELP(h) \
	{ .type = CLI_OPT_HELP, .short_name = 'h', .long_name = "help", .help = (h) }

/*
 * A command's usage: head (synopsis and description), then title and the
 * option lines made from its table (with "-h, --help  this text" last
 * unless the table has an OPT_HELP), then tail.
 */
struct cli_usage {
	const char *cmd;    /* "build": errors say "build: "; NULL: the global options */
	const char *head;   /* "usage: databuild build ...\n\nWhat it does.\n" */
	const char *title;  /* NULL: "options:" */
	const char *tail;   /* after a blank line; NULL: nothing */
};

/* Results of cli_parse_options below zero. */
enum {
	CLI_PARSE_ERROR = -1,  /* printed on stderr: exit 2 */
	CLI_PARSE_HELP = -2,   /* the usage (or the option list) printed on stdout: exit 0 */
};

enum cli_parse_flags {
	/* stop at the first argument: it and all after it are left (the command name) */
	CLI_PARSE_STOP_AT_NON_OPTION = 1 << 0,
};

/*
 * Reads the options of argv[1..argc) (argv[0] is the command name) into
 * the variables of the table options (u for the usage and the errors).
 * Returns the number of arguments left, moved to argv[0..n) in their
 * order, or CLI_PARSE_ERROR / CLI_PARSE_HELP. Options may come after
 * arguments unless CLI_PARSE_STOP_AT_NON_OPTION.
 */
int cli_parse_options(int argc, char **argv, const struct cli_usage *u,
		      const struct cli_option *options, unsigned flags);

/* Prints the usage of u and its table options (head, option lines, tail) on f. */
void cli_usage_print(FILE *f, const struct cli_usage *u, const struct cli_option *options);

#endif
