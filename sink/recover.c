/* See recover.h and docs/design.md, "The store". */
#include "recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct names {
	char **v;
	unsigned char *receipted;
	size_t n, cap;
};

static int names_add(struct names *ns, const char *s)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 256;
		char **v = realloc(ns->v, cap * sizeof(*v));
		if (!v)
			return -1;
		ns->v = v;
		ns->cap = cap;
	}
	if (!(ns->v[ns->n] = strdup(s)))
		return -1;
	ns->n++;
	return 0;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	free(ns->receipted);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in maildir/sub, sorted; dot files are not the store's. */
static int list_dir(const char *maildir, const char *sub, struct names *ns)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", maildir, sub);
	DIR *d = opendir(p);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)))
		if (e->d_name[0] != '.')
			rc = names_add(ns, e->d_name);
	closedir(d);
	if (rc == 0 && ns->n && !(ns->receipted = calloc(ns->n, 1)))
		rc = -1;
	if (ns->n)
		qsort(ns->v, ns->n, sizeof(*ns->v), by_name);
	return rc;
}

/* Marks every name a whole receipts line gives as its "maildir_file". The key is matched as
 * text: in compact JSON a '":"' cannot occur inside a string, and a line damaged elsewhere
 * still names its file (keeping a file too many is safe, moving an acknowledged one is not). */
static int mark_receipted(const char *receipts, struct names *ns)
{
	static const char key[] = "\"maildir_file\":\"new/";
	if (!ns->n)
		return 0;
	FILE *f = fopen(receipts, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		for (char *p = line; (p = strstr(p, key));) {
			char *name = p + sizeof(key) - 1, *end = strchr(name, '"');
			if (!end)
				break;
			*end = '\0';
			char **hit = bsearch(&name, ns->v, ns->n, sizeof(*ns->v), by_name);
			if (hit)
				ns->receipted[hit - ns->v] = 1;
			p = end + 1;
		}
	}
	int rc = ferror(f) ? -1 : 0;
	free(line);
	fclose(f);
	return rc;
}

static int move_aside(const char *maildir, const char *sub, const struct names *ns, int all,
                      long *moved)
{
	char from[4096], to[4096];
	for (size_t i = 0; i < ns->n; i++) {
		if (!all && ns->receipted[i])
			continue;
		snprintf(from, sizeof(from), "%s/%s/%s", maildir, sub, ns->v[i]);
		snprintf(to, sizeof(to), "%s/" RECOVER_DIR "/%s", maildir, ns->v[i]);
		if (rename(from, to) < 0)
			return -1;
		(*moved)++;
	}
	return 0;
}

int recover_unacked(const char *maildir, const char *receipts, struct recover_counts *out,
                    char *err, size_t errlen)
{
	struct names in_new = {0}, in_tmp = {0};
	char dir[4096];
	const char *what = maildir;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	snprintf(dir, sizeof(dir), "%s/" RECOVER_DIR, maildir);
	if (list_dir(maildir, "new", &in_new) < 0 || list_dir(maildir, "tmp", &in_tmp) < 0)
		goto done;
	what = receipts;
	if (mark_receipted(receipts, &in_new) < 0)
		goto done;
	what = dir;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		goto done;
	if (move_aside(maildir, "new", &in_new, 0, &out->from_new) < 0 ||
	    move_aside(maildir, "tmp", &in_tmp, 1, &out->from_tmp) < 0)
		goto done;
	rc = 0;
done:
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
	names_free(&in_new);
	names_free(&in_tmp);
	return rc;
}
