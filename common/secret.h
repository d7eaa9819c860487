/* The token key: from a file (split deployments) or random per run. */
#ifndef RT_SECRET_H
#define RT_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_MIN 16
#define SECRET_MAX 256

/* Reads the whole file (trailing white space dropped); 16 to 256 bytes. */
int secret_load(const char *path, uint8_t *key, size_t *len, char *err, size_t errlen);
int secret_random(uint8_t *key, size_t len);

#endif
