//! Classification of AWS SDK errors into what the pipeline should do with them.
//!
//! The SDK reports failures as `SdkError`: a service error with a code (`ThrottlingException`,
//! `AccessDeniedException`, ...), a timeout, a dispatch failure (connection refused or dropped,
//! credentials that could not be loaded), or a response that could not be read. [`classify`]
//! turns each into a [`Failure`] of one [`FailureKind`]; [`Failure::into_sink_error`] decides
//! retryable / maybe stored / fatal. Service error codes are the only strings matched: the SDK
//! does not model throttling or access denial as variants of every operation's error.
//!
//! Over 400 lines with its tests only (about 320 without).

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use event_core::{BoxError, SinkError};

/// A CloudWatch Logs operation, with the IAM permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    PutLogEvents,
    CreateLogGroup,
    CreateLogStream,
    PutRetentionPolicy,
    FilterLogEvents,
    DescribeLogGroups,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::PutLogEvents => "PutLogEvents",
            Operation::CreateLogGroup => "CreateLogGroup",
            Operation::CreateLogStream => "CreateLogStream",
            Operation::PutRetentionPolicy => "PutRetentionPolicy",
            Operation::FilterLogEvents => "FilterLogEvents",
            Operation::DescribeLogGroups => "DescribeLogGroups",
        }
    }

    /// The IAM actions the operation needs, as a policy names them.
    pub fn permission(self) -> &'static str {
        match self {
            Operation::PutLogEvents => "logs:PutLogEvents",
            // Tags given at creation are authorized separately.
            Operation::CreateLogGroup => {
                "logs:CreateLogGroup (and logs:TagResource when tags are set)"
            }
            Operation::CreateLogStream => "logs:CreateLogStream",
            Operation::PutRetentionPolicy => "logs:PutRetentionPolicy",
            Operation::FilterLogEvents => "logs:FilterLogEvents",
            Operation::DescribeLogGroups => "logs:DescribeLogGroups",
        }
    }

    /// Whether a request cut short may still have been applied in a way that matters: only
    /// PutLogEvents stores data; the others are idempotent or read-only.
    fn stores_data(self) -> bool {
        self == Operation::PutLogEvents
    }
}

/// What kind of failure an SDK error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// `ThrottlingException` and friends: nothing was applied.
    Throttled,
    /// `ServiceUnavailableException` or another 5xx.
    ServerError,
    /// A timeout, a dropped connection or an unreadable response: the request may have been
    /// applied.
    Uncertain,
    /// Credentials could not be loaded for now (IMDS or STS slow): nothing was sent.
    CredentialsUnavailable,
    /// No credentials, or a broken credentials configuration.
    CredentialsMissing,
    /// `UnrecognizedClientException`, a bad signature.
    BadCredentials,
    /// `ExpiredTokenException`.
    ExpiredCredentials,
    /// `AccessDeniedException`.
    AccessDenied,
    /// `ResourceNotFoundException`.
    NotFound,
    /// `ResourceAlreadyExistsException`.
    AlreadyExists,
    /// `InvalidParameterException`: the request was malformed.
    InvalidParameter,
    /// `OperationAbortedException`: a conflicting operation ran at the same time.
    Conflict,
    /// Another client-side error (an unknown 4xx code, a request that could not be built).
    Other,
}

/// A classified SDK error.
#[derive(Debug)]
pub(crate) struct Failure {
    pub operation: Operation,
    pub kind: FailureKind,
    pub code: Option<String>,
    pub message: Option<String>,
    pub retry_after: Option<Duration>,
    pub source: BoxError,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation.name())?;
        if let Some(code) = &self.code {
            write!(f, " with {code}")?;
        }
        match &self.message {
            Some(message) => write!(f, ": {message}"),
            None if self.code.is_none() => write!(f, ": {}", DisplayErrorContext(&*self.source)),
            None => Ok(()),
        }
    }
}

/// Classifies an SDK error of `operation`.
pub(crate) fn classify<E>(operation: Operation, error: SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let (kind, code, message, retry_after) = match &error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let status = service.raw().status().as_u16();
            let code = err.code().map(str::to_owned);
            let retry_after = service
                .raw()
                .headers()
                .get("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            (
                kind_of(code.as_deref(), status),
                code,
                err.message().map(str::to_owned),
                retry_after,
            )
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            (FailureKind::Uncertain, None, None, None)
        }
        SdkError::DispatchFailure(dispatch) => {
            let kind = match credentials_error(&error) {
                Some(CredentialsError::CredentialsNotLoaded(_))
                | Some(CredentialsError::InvalidConfiguration(_)) => {
                    FailureKind::CredentialsMissing
                }
                Some(_) => FailureKind::CredentialsUnavailable,
                None if dispatch.is_user() => FailureKind::Other,
                None => FailureKind::Uncertain,
            };
            (kind, None, None, None)
        }
        _ => {
            let kind = match credentials_error(&error) {
                Some(CredentialsError::CredentialsNotLoaded(_))
                | Some(CredentialsError::InvalidConfiguration(_)) => {
                    FailureKind::CredentialsMissing
                }
                Some(_) => FailureKind::CredentialsUnavailable,
                None => FailureKind::Other,
            };
            (kind, None, None, None)
        }
    };
    Failure {
        operation,
        kind,
        code,
        message,
        retry_after,
        source: Box::new(error),
    }
}

fn kind_of(code: Option<&str>, status: u16) -> FailureKind {
    match code.unwrap_or("") {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => FailureKind::Throttled,
        "ServiceUnavailableException"
        | "ServiceUnavailable"
        | "InternalFailure"
        | "InternalServerError" => FailureKind::ServerError,
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            FailureKind::AccessDenied
        }
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "InvalidClientTokenId"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "SignatureDoesNotMatch" => FailureKind::BadCredentials,
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => {
            FailureKind::ExpiredCredentials
        }
        "ResourceNotFoundException" => FailureKind::NotFound,
        "ResourceAlreadyExistsException" => FailureKind::AlreadyExists,
        "InvalidParameterException" | "ValidationException" | "SerializationException" => {
            FailureKind::InvalidParameter
        }
        "OperationAbortedException" => FailureKind::Conflict,
        _ if status == 429 => FailureKind::Throttled,
        _ if status >= 500 => FailureKind::ServerError,
        _ => FailureKind::Other,
    }
}

fn credentials_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a CredentialsError> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

impl Failure {
    /// Whether the failed request may have been applied anyway.
    pub fn maybe_applied(&self) -> bool {
        self.operation.stores_data()
            && matches!(self.kind, FailureKind::Uncertain | FailureKind::ServerError)
    }

    /// What the pipeline should do: retry, check what was stored, or stop.
    pub fn into_sink_error(self, target: &str) -> SinkError {
        let op = self.operation.name();
        let what = self.to_string();
        match self.kind {
            FailureKind::Throttled => {
                let retry_after = self.retry_after;
                let error = SinkError::retryable(
                    format!("CloudWatch Logs throttled {op} on {target}"),
                    self,
                );
                match retry_after {
                    Some(delay) => error.with_retry_after(delay),
                    None => error,
                }
            }
            FailureKind::ServerError | FailureKind::Uncertain if self.maybe_applied() => {
                SinkError::maybe_stored(
                    format!(
                        "{what} on {target}; the events may have been stored, checking before resending"
                    ),
                    self,
                )
            }
            FailureKind::ServerError
            | FailureKind::Uncertain
            | FailureKind::Conflict
            | FailureKind::NotFound
            | FailureKind::AlreadyExists => {
                SinkError::retryable(format!("{what} on {target}"), self)
            }
            FailureKind::CredentialsUnavailable => SinkError::retryable(
                format!(
                    "AWS credentials could not be loaded for {op} (the provider timed out or failed); retrying"
                ),
                self,
            ),
            FailureKind::CredentialsMissing => SinkError::fatal(
                format!(
                    "no usable AWS credentials for {op}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an IRSA role on the service account, and check the AWS config files"
                ),
                self,
            ),
            FailureKind::BadCredentials => SinkError::fatal(
                format!(
                    "AWS did not recognize the credentials ({what}): check the access key, the profile or the IRSA role, and that the region is right"
                ),
                self,
            ),
            FailureKind::ExpiredCredentials => SinkError::fatal(
                format!(
                    "the AWS credentials have expired ({what}): refresh them (a new session token, `aws sso login`) and check this host's clock"
                ),
                self,
            ),
            FailureKind::AccessDenied => SinkError::fatal(
                format!(
                    "access denied to {op} on {target} ({what}): grant {} to this principal's IAM policy for that resource",
                    self.operation.permission()
                ),
                self,
            ),
            FailureKind::Other if self.code.is_none() => SinkError::fatal(
                format!(
                    "{op} on {target} could not be sent ({what}); check the region, endpoint_url and AWS configuration"
                ),
                self,
            ),
            FailureKind::InvalidParameter | FailureKind::Other => SinkError::fatal(
                format!(
                    "CloudWatch Logs refused {op} on {target} ({what}); this is a bug or a misconfiguration that retrying cannot fix"
                ),
                self,
            ),
        }
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn service_error(status: u16, code: &str) -> SdkError<PutLogEventsError> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("details")
            .build();
        let response = aws_sdk_cloudwatchlogs::config::http::HttpResponse::new(
            status.try_into().unwrap(),
            SdkBody::empty(),
        );
        SdkError::service_error(PutLogEventsError::generic(meta), response)
    }

    fn classify_put(status: u16, code: &str) -> Failure {
        classify(Operation::PutLogEvents, service_error(status, code))
    }

    #[test]
    fn service_codes_map_to_kinds() {
        let cases = [
            (400, "ThrottlingException", FailureKind::Throttled),
            (503, "ServiceUnavailableException", FailureKind::ServerError),
            (500, "InternalFailure", FailureKind::ServerError),
            (502, "Unknown", FailureKind::ServerError),
            (429, "Unknown", FailureKind::Throttled),
            (400, "AccessDeniedException", FailureKind::AccessDenied),
            (
                400,
                "UnrecognizedClientException",
                FailureKind::BadCredentials,
            ),
            (
                403,
                "InvalidSignatureException",
                FailureKind::BadCredentials,
            ),
            (
                400,
                "ExpiredTokenException",
                FailureKind::ExpiredCredentials,
            ),
            (400, "ResourceNotFoundException", FailureKind::NotFound),
            (
                400,
                "ResourceAlreadyExistsException",
                FailureKind::AlreadyExists,
            ),
            (
                400,
                "InvalidParameterException",
                FailureKind::InvalidParameter,
            ),
            (400, "OperationAbortedException", FailureKind::Conflict),
            (400, "SomethingNew", FailureKind::Other),
        ];
        for (status, code, kind) in cases {
            let failure = classify_put(status, code);
            assert_eq!(failure.kind, kind, "{code}");
            assert_eq!(failure.code.as_deref(), Some(code));
        }
    }

    #[test]
    fn throttling_is_retryable_and_not_maybe_stored() {
        let error = classify_put(400, "ThrottlingException").into_sink_error("/g/s");
        assert!(error.is_retryable());
        assert!(!error.is_maybe_stored());
    }

    #[test]
    fn a_server_error_on_put_may_have_stored_the_events() {
        let error = classify_put(500, "InternalFailure").into_sink_error("/g/s");
        assert!(error.is_maybe_stored(), "{error}");
        let other = classify(
            Operation::CreateLogStream,
            service_error(500, "InternalFailure"),
        );
        let error = other.into_sink_error("/g/s");
        assert!(error.is_retryable() && !error.is_maybe_stored(), "{error}");
    }

    #[test]
    fn a_timeout_on_put_is_maybe_stored() {
        let timeout: SdkError<PutLogEventsError> =
            SdkError::timeout_error(std::io::Error::other("operation timed out"));
        let failure = classify(Operation::PutLogEvents, timeout);
        assert_eq!(failure.kind, FailureKind::Uncertain);
        assert!(failure.into_sink_error("/g/s").is_maybe_stored());
    }

    #[test]
    fn access_denied_is_fatal_and_names_the_permission() {
        let error = classify_put(400, "AccessDeniedException").into_sink_error("/ek/prod/default");
        assert!(matches!(error, SinkError::Fatal { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("logs:PutLogEvents"), "{message}");
        assert!(message.contains("/ek/prod/default"), "{message}");
        let create = classify(
            Operation::CreateLogGroup,
            service_error(400, "AccessDeniedException"),
        );
        assert!(
            create
                .into_sink_error("/g")
                .to_string()
                .contains("logs:CreateLogGroup")
        );
    }

    #[test]
    fn bad_and_expired_credentials_are_fatal_and_say_what_to_do() {
        let bad = classify_put(400, "UnrecognizedClientException").into_sink_error("/g/s");
        assert!(!bad.is_retryable());
        assert!(bad.to_string().contains("check the access key"), "{bad}");
        let expired = classify_put(400, "ExpiredTokenException").into_sink_error("/g/s");
        assert!(!expired.is_retryable());
        assert!(expired.to_string().contains("expired"), "{expired}");
    }

    #[test]
    fn credentials_that_cannot_be_loaded_are_found_in_the_source_chain() {
        let missing: SdkError<PutLogEventsError> =
            SdkError::dispatch_failure(aws_sdk_cloudwatchlogs::error::ConnectorError::other(
                Box::new(CredentialsError::not_loaded("no provider")),
                None,
            ));
        let failure = classify(Operation::PutLogEvents, missing);
        assert_eq!(failure.kind, FailureKind::CredentialsMissing);
        assert!(!failure.into_sink_error("/g/s").is_retryable());
        let slow: SdkError<PutLogEventsError> =
            SdkError::dispatch_failure(aws_sdk_cloudwatchlogs::error::ConnectorError::other(
                Box::new(CredentialsError::provider_timed_out(Duration::from_secs(5))),
                None,
            ));
        let failure = classify(Operation::PutLogEvents, slow);
        assert_eq!(failure.kind, FailureKind::CredentialsUnavailable);
        let error = failure.into_sink_error("/g/s");
        assert!(error.is_retryable() && !error.is_maybe_stored());
    }

    #[test]
    fn a_request_that_cannot_be_built_points_at_the_configuration() {
        let failure: SdkError<PutLogEventsError> =
            SdkError::construction_failure(std::io::Error::other("no region"));
        let error = classify(Operation::PutLogEvents, failure).into_sink_error("/g:s");
        assert!(matches!(error, SinkError::Fatal { .. }), "{error}");
        assert!(error.to_string().contains("endpoint_url"), "{error}");
        let unknown = classify_put(400, "SomethingNew").into_sink_error("/g:s");
        assert!(unknown.to_string().contains("SomethingNew"), "{unknown}");
    }

    #[test]
    fn a_retry_after_header_is_passed_on() {
        let meta = ErrorMetadata::builder().code("ThrottlingException").build();
        let mut response = aws_sdk_cloudwatchlogs::config::http::HttpResponse::new(
            400.try_into().unwrap(),
            SdkBody::empty(),
        );
        response.headers_mut().insert("retry-after", "3");
        let error: SdkError<PutLogEventsError> =
            SdkError::service_error(PutLogEventsError::generic(meta), response);
        let error = classify(Operation::PutLogEvents, error).into_sink_error("/g/s");
        assert!(matches!(
            error,
            SinkError::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(3)
        ));
    }
}
