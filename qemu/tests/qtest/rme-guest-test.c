/*
 * QTest of the rme-guest object (Arm CCA realms): its QOM interface
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qstring.h"

/* 64 bytes of 0x01..0x40, base64 */
#define RPV_GOOD \
    "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywt" \
    "Li8wMTIzNDU2Nzg5Ojs8PT4/QA=="
/* 32 bytes, base64 */
#define RPV_SHORT "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

static char *qom_get_str(QTestState *qts, const char *path, const char *prop)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-get', 'arguments':"
                           " { 'path': %s, 'property': %s } }", path, prop);
    char *s;

    g_assert(qdict_haskey(rsp, "return"));
    s = g_strdup(qstring_get_str(qobject_to(QString,
                                            qdict_get(rsp, "return"))));
    qobject_unref(rsp);
    return s;
}

/* object-add with @prop=@value must fail with an error containing @msg. */
static void assert_add_fails(QTestState *qts, const char *prop,
                             const char *value, const char *msg)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'object-add', 'arguments': "
                           "{ 'qom-type': 'rme-guest', 'id': 'bad', "
                           "%s: %s } }", prop, value);
    QDict *err = qdict_get_qdict(rsp, "error");
    const char *desc;

    g_assert(err);
    desc = qdict_get_str(err, "desc");
    g_test_message("object-add %s=%s: %s", prop, value, desc);
    g_assert(strstr(desc, msg));
    qobject_unref(rsp);
}

static int64_t qom_get_int(QTestState *qts, const char *path,
                           const char *prop)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-get', 'arguments':"
                           " { 'path': %s, 'property': %s } }", path, prop);
    int64_t v = qdict_get_int(rsp, "return");

    qobject_unref(rsp);
    return v;
}

static void test_defaults(void)
{
    QTestState *qts = qtest_init("-machine none "
                                 "-object rme-guest,id=rme0");
    g_autofree char *algo = qom_get_str(qts, "/objects/rme0",
                                        "measurement-algorithm");

    g_assert_cmpstr(algo, ==, "sha512");
    /* No SVE, no PMU; the vCPU model's breakpoints and watchpoints. */
    g_assert_cmpint(qom_get_int(qts, "/objects/rme0", "sve-vector-length"),
                    ==, 0);
    g_assert_cmpint(qom_get_int(qts, "/objects/rme0", "num-pmu-counters"),
                    ==, 0);
    g_assert_cmpint(qom_get_int(qts, "/objects/rme0", "num-breakpoints"),
                    ==, 0);
    g_assert_cmpint(qom_get_int(qts, "/objects/rme0", "num-watchpoints"),
                    ==, 0);
    qtest_quit(qts);
}

static void test_properties(void)
{
    QTestState *qts = qtest_init("-machine none");
    g_autofree char *algo = NULL;
    g_autofree char *rpv = NULL;

    qtest_qmp_assert_success(qts, "{ 'execute': 'object-add', 'arguments':"
                             " { 'qom-type': 'rme-guest', 'id': 'r1',"
                             "   'measurement-algorithm': 'sha256',"
                             "   'sve-vector-length': 512,"
                             "   'num-pmu-counters': 4,"
                             "   'personalization-value': %s } }", RPV_GOOD);
    g_assert_cmpint(qom_get_int(qts, "/objects/r1", "sve-vector-length"),
                    ==, 512);
    g_assert_cmpint(qom_get_int(qts, "/objects/r1", "num-pmu-counters"),
                    ==, 4);
    algo = qom_get_str(qts, "/objects/r1", "measurement-algorithm");
    rpv = qom_get_str(qts, "/objects/r1", "personalization-value");
    g_assert_cmpstr(algo, ==, "sha256");
    g_assert_cmpstr(rpv, ==, RPV_GOOD);
    qtest_quit(qts);
}

static void test_bad_values(void)
{
    QTestState *qts = qtest_init("-machine none");

    assert_add_fails(qts, "measurement-algorithm", "md5", "md5");
    assert_add_fails(qts, "personalization-value", "not*base64",
                     "personalization-value");
    assert_add_fails(qts, "personalization-value", RPV_SHORT,
                     "must be 64 bytes");
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("rme-guest/defaults", test_defaults);
    qtest_add_func("rme-guest/properties", test_properties);
    qtest_add_func("rme-guest/bad-values", test_bad_values);
    return g_test_run();
}
