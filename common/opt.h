/* Options as a table: the same entries parse the command line and `name = value` config files
 * (-C FILE), print --help and are checked against the man pages. */
#ifndef RT_OPT_H
#define RT_OPT_H

#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_FLAG,   /* int, set to 1 (config: yes/no/true/false/1/0) */
	OPT_STR,    /* char *, strdup'd */
	OPT_INT,    /* long, within [min, max] */
	OPT_DOUBLE, /* double seconds, within [min, max] */
	OPT_SIZE,   /* size_t, with k/m/g suffixes, within [min, max] */
	OPT_LIST,   /* struct strlist, repeatable */
	OPT_FN,     /* custom: fn(cfg, value) */
	OPT_CONFIG, /* -C FILE: read FILE where it stands on the command line; not in files */
};

struct strlist {
	char **v;
	int n;
};
int strlist_add(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

struct opt {
	const char *name; /* long name, also the config file key */
	char shortname;   /* 0 for none */
	enum opt_type type;
	size_t offset; /* into the config struct */
	const char *argname;
	const char *help;
	double min, max;
	/* OPT_FN: sets the value; OPT_STR, OPT_LIST: checks it (NULL: anything goes) */
	int (*fn)(void *cfg, const char *value, char *err, size_t errlen);
};

/* Sets one option by long name. 0 ok; -1 with err filled. */
int opt_set(const struct opt *tab, void *cfg, const char *name, const char *value, char *err,
            size_t errlen);
/* Parses argv; options and operands may mix; "--" ends options. Operands are moved to the
 * front of argv after argv[0] and *nargs says how many. "-C FILE"/"--config FILE" is read
 * where it stands, so later options override it. */
int opt_parse_argv(const struct opt *tab, void *cfg, int argc, char **argv, int *nargs, char *err,
                   size_t errlen);
/* Reads a config file; errors are "FILE:LINE: message". */
int opt_parse_file(const struct opt *tab, void *cfg, const char *path, char *err, size_t errlen);
void opt_usage(FILE *out, const struct opt *tab);

/* Splits one config line. Returns 1 with name/value set, 0 for a blank or comment line,
 * -1 with *why on a syntax error. Modifies line in place. Pure. */
int conf_parse_line(char *line, char **name, char **value, const char **why);

#endif
