//! `/healthz`, `/livez` and `/readyz`, with their named checks, `?verbose` and `?exclude=`, as
//! kube-apiserver's `healthz` package answers them.
//!
//! Design notes: the checks are those that mean something here — `ping`; `log` (kube-apiserver
//! checks that its logger is not blocked; ours never is); `etcd`, whether the store can commit
//! (it fails only for a store on etcd whose watch is down); and, for `/readyz` only,
//! `shutdown`, which fails once SIGTERM has started the drain, so a load balancer asking a
//! kept-alive connection sends no more work. A failed check's reason is withheld from the
//! answer (the endpoints are public), as upstream, and named at `/readyz/{check}`.

use http::{header, HeaderValue, Response, StatusCode};

use crate::errors::{self, Body};

/// One named check and its outcome.
pub struct Check {
    /// The check's name (`etcd`), also its path under the endpoint.
    pub name: &'static str,
    /// Why it fails, or `None` when it passes.
    pub failure: Option<String>,
}

impl Check {
    /// A check that passes.
    pub fn ok(name: &'static str) -> Check {
        Check {
            name,
            failure: None,
        }
    }
}

/// The answer of `endpoint` (`readyz`) for `rest` (the path after it: empty, or one check's
/// name), given its checks and the raw query string.
pub fn answer(endpoint: &str, rest: &[&str], checks: &[Check], query: &str) -> Response<Body> {
    match rest {
        [] => all(endpoint, checks, query),
        [name] => match checks.iter().find(|c| c.name == *name) {
            Some(Check {
                failure: Some(why), ..
            }) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal server error: {why}\n"),
            ),
            Some(_) => text(StatusCode::OK, "ok".into()),
            None => errors::no_route(),
        },
        _ => errors::no_route(),
    }
}

/// Every check: `ok`, or with `verbose` (or any failure) one line per check and a verdict.
fn all(endpoint: &str, checks: &[Check], query: &str) -> Response<Body> {
    let mut verbose = false;
    let mut excluded: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "verbose" => verbose = true,
            "exclude" => {
                let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                excluded.push(value.into_owned());
            }
            _ => {}
        }
    }
    let mut lines = String::new();
    let mut failed = false;
    for check in checks {
        if let Some(at) = excluded.iter().position(|e| e == check.name) {
            excluded.remove(at);
            lines.push_str(&format!("[+]{} excluded: ok\n", check.name));
        } else if check.failure.is_some() {
            failed = true;
            lines.push_str(&format!("[-]{} failed: reason withheld\n", check.name));
        } else {
            lines.push_str(&format!("[+]{} ok\n", check.name));
        }
    }
    if !excluded.is_empty() {
        excluded.sort();
        excluded.dedup();
        let quoted: Vec<String> = excluded.iter().map(|e| format!("{e:?}")).collect();
        lines.push_str(&format!(
            "warn: some health checks cannot be excluded: no matches for {}\n",
            quoted.join(",")
        ));
    }
    if failed {
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{lines}{endpoint} check failed\n"),
        )
    } else if verbose {
        text(StatusCode::OK, format!("{lines}{endpoint} check passed\n"))
    } else {
        text(StatusCode::OK, "ok".into())
    }
}

fn text(code: StatusCode, body: String) -> Response<Body> {
    let mut response = errors::bytes_response(code, body.into_bytes(), "text/plain; charset=utf-8");
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn read(response: Response<Body>) -> (StatusCode, String) {
        let code = response.status();
        let bytes = futures::executor::block_on(response.into_body().collect())
            .expect("body")
            .to_bytes();
        (code, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn checks(etcd: Option<&str>) -> Vec<Check> {
        vec![
            Check::ok("ping"),
            Check::ok("log"),
            Check {
                name: "etcd",
                failure: etcd.map(str::to_string),
            },
        ]
    }

    #[test]
    fn passing_checks_answer_ok_or_each_line_when_verbose() {
        assert_eq!(
            read(answer("readyz", &[], &checks(None), "")),
            (StatusCode::OK, "ok".into())
        );
        assert_eq!(
            read(answer("readyz", &[], &checks(None), "verbose")),
            (
                StatusCode::OK,
                "[+]ping ok\n[+]log ok\n[+]etcd ok\nreadyz check passed\n".into()
            )
        );
    }

    #[test]
    fn a_failing_check_withholds_its_reason_unless_asked_by_name() {
        let failing = checks(Some("the watch is down"));
        assert_eq!(
            read(answer("livez", &[], &failing, "")),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nlivez check failed\n"
                    .into()
            )
        );
        assert_eq!(
            read(answer("livez", &["etcd"], &failing, "")),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error: the watch is down\n".into()
            )
        );
        assert_eq!(
            read(answer("livez", &["ping"], &failing, "")),
            (StatusCode::OK, "ok".into())
        );
        assert_eq!(
            read(answer("livez", &["nope"], &failing, "")).0,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn excluded_checks_pass_and_unknown_exclusions_are_warned_about() {
        let failing = checks(Some("down"));
        assert_eq!(
            read(answer(
                "readyz",
                &[],
                &failing,
                "verbose&exclude=etcd&exclude=nope"
            )),
            (
                StatusCode::OK,
                "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n\
                 warn: some health checks cannot be excluded: no matches for \"nope\"\n\
                 readyz check passed\n"
                    .into()
            )
        );
    }
}
