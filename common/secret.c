#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int secret_load(const char *path, uint8_t *key, size_t *len, char *err, size_t errlen)
{
	uint8_t buf[SECRET_MAX + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "--secret-file %s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (n < SECRET_MIN || n > SECRET_MAX) {
		snprintf(err, errlen, "--secret-file %s: must hold %d to %d bytes, has %zu", path,
		         SECRET_MIN, SECRET_MAX, n);
		return -1;
	}
	memcpy(key, buf, n);
	*len = n;
	return 0;
}

int secret_random(uint8_t *key, size_t len)
{
	return RAND_bytes(key, (int)len) == 1 ? 0 : -1;
}
