/* The compiled-in defaults of the data files in conf/, built from those files by the Makefile
 * ($(BUILD)/gen/NAME.inc), so the shipped file and the default cannot differ. */
#include "advice.h"
#include "advisory.h"
#include "fingerprint.h"
#include "notice.h"

const char fingerprints_default_text[] =
#include "fingerprints.conf.inc"
    ;

const char advisories_default_text[] =
#include "advisories.conf.inc"
    ;

const char advice_default_text[] =
#include "advice.conf.inc"
    ;

const char notice_default_text[] =
#include "notice.txt.inc"
    ;
