#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "core/array.h"

/* The options every table has, looked up after it. */
static const struct cli_option help_option = OPT_HELP("this text");
static const struct cli_option list_option = {
	.type = CLI_OPT_LIST, .long_name = "list-options", .flags = CLI_OPT_HIDDEN,
};
static const struct cli_option *const builtins[] = { &help_option, &list_option };

/* "databuild: [CMD: ]<fmt>" on stderr; returns CLI_PARSE_ERROR. */
__attribute__((format(printf, 2, 3)))
static int parse_error(const struct cli_usage *u, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "databuild: %s%s", u->cmd ? u->cmd : "", u->cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_PARSE_ERROR;
}

static int unknown_option(const struct cli_usage *u, const char *arg)
{
	return parse_error(u, "unknown option '%s' (see 'databuild %s%s--help')", arg,
			   u->cmd ? u->cmd : "", u->cmd ? " " : "");
}

/* Whether the table has its own OPT_HELP (else the built-in one is shown). */
static int has_help(const struct cli_option *opts)
{
	for (; opts->type != CLI_OPT_END; opts++)
		if (opts->type == CLI_OPT_HELP)
			return 1;
	return 0;
}

/* Whether o is --NAME (name of len bytes) or, when len is 0, -C. */
static int option_is(const struct cli_option *o, const char *name, size_t len, char c)
{
	if (!len)
		return c && o->short_name == c;
	return o->long_name && strlen(o->long_name) == len && !strncmp(o->long_name, name, len);
}

/* The option of the table, else the built-in one, that is --NAME or -C; NULL if none. */
static const struct cli_option *find_option(const struct cli_option *opts, const char *name,
					    size_t len, char c)
{
	for (; opts->type != CLI_OPT_END; opts++)
		if (option_is(opts, name, len, c))
			return opts;
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (option_is(builtins[i], name, len, c))
			return builtins[i];
	return NULL;
}

/* "-j, --jobs N" (sep ", ") or "-j --jobs N" (sep " "). */
static void option_names(const struct cli_option *o, const char *sep, struct strbuf *out)
{
	if (o->short_name)
		strbuf_addf(out, "-%c%s", o->short_name, o->long_name ? sep : "");
	if (o->long_name)
		strbuf_addf(out, "--%s", o->long_name);
	if (o->argh)
		strbuf_addf(out, " %s", o->argh);
}

/* Calls fn for each option the usage shows: the table's, then the built-in help if needed. */
static void each_shown(const struct cli_option *opts,
		       void (*fn)(const struct cli_option *o, void *arg), void *arg)
{
	int help = has_help(opts);

	for (; opts->type != CLI_OPT_END; opts++)
		if (!(opts->flags & CLI_OPT_HIDDEN))
			fn(opts, arg);
	if (!help)
		fn(&help_option, arg);
}

static void widest(const struct cli_option *o, void *arg)
{
	struct strbuf names = STRBUF_INIT;
	size_t *width = arg;

	option_names(o, ", ", &names);
	if (names.len > *width)
		*width = names.len;
	strbuf_release(&names);
}

struct usage_out {
	FILE *f;
	size_t width;  /* of the names column */
};

/* "  -j, --jobs N  help", each further line of help indented as far. */
static void usage_line(const struct cli_option *o, void *arg)
{
	struct usage_out *out = arg;
	struct strbuf line = STRBUF_INIT;
	const char *help = o->help ? o->help : "";

	strbuf_addstr(&line, "  ");
	option_names(o, ", ", &line);
	for (;;) {
		const char *nl = strchr(help, '\n');
		size_t n = nl ? (size_t)(nl - help) : strlen(help);

		while (line.len < out->width + 4)
			strbuf_addch(&line, ' ');
		strbuf_add(&line, help, n);
		strbuf_addch(&line, '\n');
		if (!nl)
			break;
		help = nl + 1;
		fputs(line.buf, out->f);
		strbuf_reset(&line);
	}
	fputs(line.buf, out->f);
	strbuf_release(&line);
}

void cli_usage_print(FILE *f, const struct cli_usage *u, const struct cli_option *options)
{
	struct usage_out out = { .f = f, .width = 0 };

	each_shown(options, widest, &out.width);
	fprintf(f, "%s\n%s\n", u->head, u->title ? u->title : "options:");
	each_shown(options, usage_line, &out);
	if (u->tail)
		fprintf(f, "\n%s", u->tail);
}

/* A line of --list-options: "-j --jobs N", "--format F text json ...". */
static void list_line(const struct cli_option *o, void *arg)
{
	struct strbuf line = STRBUF_INIT;

	option_names(o, " ", &line);
	if (o->choices)
		strbuf_addf(&line, " %s", o->choices);
	fprintf(arg, "%s\n", line.buf);
	strbuf_release(&line);
}

/* One cli_parse_options: the table, and where it is in argv. */
struct parser {
	const struct cli_usage *u;
	const struct cli_option *options;
	int argc;
	char **argv;
	int i;  /* the argument being read */
};

static int parse_integer(const struct parser *p, const struct cli_option *opt,
			 const char *name, const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < opt->min || v > opt->max)
		return parse_error(p->u, "option '%s': expected an integer from %ld to %ld, "
				   "got '%s'", name, opt->min, opt->max, text);
	if (opt->type == CLI_OPT_INT)
		*(int *)opt->value = (int)v;
	else
		*(long *)opt->value = v;
	return 0;
}

static int run_callback(const struct parser *p, const struct cli_option *opt,
			const char *name, const char *value)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (opt->cb(opt, value, &err) < 0)
		ret = parse_error(p->u, "option '%s': %s", name,
				  err.len ? err.buf : "invalid value");
	strbuf_release(&err);
	return ret;
}

/* Gives opt (typed as name) its value: 0, or a CLI_PARSE_* result. */
static int apply(const struct parser *p, const struct cli_option *opt, const char *name,
		 const char *value)
{
	switch (opt->type) {
	case CLI_OPT_FLAG:
		*(int *)opt->value = 1;
		return 0;
	case CLI_OPT_COUNT:
		++*(int *)opt->value;
		return 0;
	case CLI_OPT_STRING:
		*(const char **)opt->value = value;
		return 0;
	case CLI_OPT_STRVEC:
		strvec_push(opt->value, value);
		return 0;
	case CLI_OPT_INT:
	case CLI_OPT_LONG:
		return parse_integer(p, opt, name, value);
	case CLI_OPT_CALLBACK:
		return run_callback(p, opt, name, value);
	case CLI_OPT_HELP:
		cli_usage_print(stdout, p->u, p->options);
		return CLI_PARSE_HELP;
	case CLI_OPT_LIST:
		each_shown(p->options, list_line, stdout);
		return CLI_PARSE_HELP;
	case CLI_OPT_END:
		break;
	}
	return parse_error(p->u, "option '%s': not understood", name);
}

/* The argument after the option typed as name, its value: NULL (printed) if none. */
static const char *next_value(struct parser *p, const char *name)
{
	if (p->i + 1 >= p->argc) {
		parse_error(p->u, "option '%s' needs a value", name);
		return NULL;
	}
	return p->argv[++p->i];
}

/* argv[i] is "--NAME[=VALUE]". */
static int parse_long_option(struct parser *p)
{
	const char *arg = p->argv[p->i], *eq = strchr(arg, '='), *value = NULL;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct cli_option *opt = find_option(p->options, arg + 2, len - 2, 0);
	struct strbuf name = STRBUF_INIT;
	int ret = CLI_PARSE_ERROR;

	if (!opt)
		return unknown_option(p->u, arg);
	strbuf_add(&name, arg, len);
	if (eq && !opt->argh)
		parse_error(p->u, "option '%s' takes no value", name.buf);
	else if (!opt->argh || (value = eq ? eq + 1 : next_value(p, name.buf)))
		ret = apply(p, opt, name.buf, value);
	strbuf_release(&name);
	return ret;
}

/* argv[i] is "-C" or "-CVALUE". */
static int parse_short_option(struct parser *p)
{
	const char *arg = p->argv[p->i], *value = NULL;
	const struct cli_option *opt = find_option(p->options, NULL, 0, arg[1]);
	char name[3] = { '-', arg[1], '\0' };

	if (!opt || (arg[2] && !opt->argh))
		return unknown_option(p->u, arg);
	if (opt->argh && !(value = arg[2] ? arg + 2 : next_value(p, name)))
		return CLI_PARSE_ERROR;
	return apply(p, opt, name, value);
}

int cli_parse_options(int argc, char **argv, const struct cli_usage *u,
		      const struct cli_option *options, unsigned flags)
{
	struct parser p = { .u = u, .options = options, .argc = argc, .argv = argv, .i = 1 };
	int n = 0, r;

	for (; p.i < argc; p.i++) {
		const char *arg = argv[p.i];

		if (!strcmp(arg, "--")) {
			p.i++;
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			if (flags & CLI_PARSE_STOP_AT_NON_OPTION)
				break;
			argv[n++] = argv[p.i];
			continue;
		}
		r = arg[1] == '-' ? parse_long_option(&p) : parse_short_option(&p);
		if (r < 0)
			return r;
	}
	while (p.i < argc)
		argv[n++] = argv[p.i++];
	return n;
}
