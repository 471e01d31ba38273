//! Image signatures: validation, and the virtual `imagesignatures` resource that creates and
//! deletes entries of `Image.signatures`.
//!
//! Design notes: a signature lives inside its Image and is named `<imageName>@<signatureName>`.
//! Creating one clears the fields only a trusted verifier may set, refuses a duplicate by name
//! or by identical (type, content), and updates the Image under optimistic concurrency. The
//! condition rules are OpenShift's, with its operator-precedence slip fixed: upstream, any
//! condition that is not `Trusted` is taken as the `ForImage` one; here only `ForImage` is.

use crate::error::{Error, Result, Status, StatusCause, StatusDetails};
use crate::image::types::{Image, ImageSignature, SignatureCondition, API_VERSION};
use crate::ObjectMetaExt;
use crate::{Api, PostParams};

/// Splits `<imageName>@<signatureName>` (exactly two non-empty parts).
pub fn split_signature_name(name: &str) -> Option<(&str, &str)> {
    let mut parts = name.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(image), Some(signature), None) if !image.is_empty() && !signature.is_empty() => {
            Some((image, signature))
        }
        _ => None,
    }
}

fn newest<'a>(conditions: &'a [SignatureCondition], kind: &str) -> Option<&'a SignatureCondition> {
    let mut best: Option<&SignatureCondition> = None;
    for condition in conditions.iter().filter(|c| c.type_ == kind) {
        let newer = match best {
            None => true,
            Some(b) => condition.last_probe_time >= b.last_probe_time,
        };
        if newer {
            best = Some(condition);
        }
    }
    best
}

/// `validateImageSignature`: field causes under `path` (`""` for a top-level signature).
pub(crate) fn validate_signature(signature: &ImageSignature, path: &str) -> Vec<StatusCause> {
    let at = |field: &str| {
        if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        }
    };
    let mut causes = Vec::new();
    let name = signature.metadata.name_str();
    if name.is_empty() {
        causes.push(StatusCause::required(
            &at("metadata.name"),
            "name or generateName is required",
        ));
    } else {
        for problem in crate::validation::path_segment_problems(name) {
            causes.push(StatusCause::invalid(&at("metadata.name"), name, &problem));
        }
    }
    if signature
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| !l.is_empty())
    {
        causes.push(StatusCause::forbidden(
            &at("metadata.labels"),
            "signature labels cannot be set",
        ));
    }
    if signature
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| !a.is_empty())
    {
        causes.push(StatusCause::forbidden(
            &at("metadata.annotations"),
            "signature annotations cannot be set",
        ));
    }
    if split_signature_name(name).is_none() {
        causes.push(StatusCause::invalid(
            &at("metadata.name"),
            name,
            "name must be of format <imageName>@<signatureName>",
        ));
    }
    if signature.type_.is_empty() {
        causes.push(StatusCause::required(&at("type"), ""));
    }
    if signature.content.is_empty() {
        causes.push(StatusCause::required(&at("content"), ""));
    }
    let trusted = newest(&signature.conditions, "Trusted");
    let for_image = newest(&signature.conditions, "ForImage");
    let conditions_invalid = |detail: &str| {
        StatusCause::new(
            "FieldValueInvalid",
            &at("conditions"),
            format!("Invalid value: {detail}"),
        )
    };
    match (trusted, for_image) {
        (Some(_), None) => causes.push(conditions_invalid("missing \"ForImage\" condition type")),
        (None, Some(_)) => causes.push(conditions_invalid("missing \"Trusted\" condition type")),
        _ => {
            if trusted.is_none_or(|t| t.status == "Unknown") {
                let unset = "must be unset for unknown signature state";
                if !signature.image_identity.is_empty() {
                    causes.push(StatusCause::invalid(
                        &at("imageIdentity"),
                        &signature.image_identity,
                        unset,
                    ));
                }
                if !signature.signed_claims.is_empty() {
                    causes.push(StatusCause::new(
                        "FieldValueInvalid",
                        &at("signedClaims"),
                        format!("Invalid value: {:?}: {unset}", signature.signed_claims),
                    ));
                }
                if signature.issued_by.is_some() {
                    causes.push(StatusCause::new(
                        "FieldValueInvalid",
                        &at("issuedBy"),
                        format!("Invalid value: {unset}"),
                    ));
                }
                if signature.issued_to.is_some() {
                    causes.push(StatusCause::new(
                        "FieldValueInvalid",
                        &at("issuedTo"),
                        format!("Invalid value: {unset}"),
                    ));
                }
            }
        }
    }
    causes
}

/// The virtual `imagesignatures` resource: create and delete only.
#[derive(Clone, Debug)]
pub struct SignatureApi {
    images: Api<Image>,
}

fn signature_not_found(name: &str) -> Error {
    Error::not_found(crate::image::types::GROUP, "imageSignatures", name)
}

impl SignatureApi {
    pub(crate) fn new(images: Api<Image>) -> SignatureApi {
        SignatureApi { images }
    }

    /// Adds a signature to its image (`<imageName>@<signatureName>`) and returns it as stored.
    pub fn create(&self, signature: &ImageSignature) -> Result<ImageSignature> {
        let mut signature = signature.clone();
        signature.conditions.clear();
        signature.image_identity.clear();
        signature.signed_claims.clear();
        signature.created = None;
        signature.issued_by = None;
        signature.issued_to = None;
        signature.api_version = API_VERSION.to_string();
        signature.kind = "ImageSignature".to_string();
        let name = signature.metadata.name_str().to_string();
        let causes = validate_signature(&signature, "");
        if !causes.is_empty() {
            return Err(Error::invalid(
                crate::image::types::GROUP,
                "ImageSignature",
                &name,
                causes,
            ));
        }
        let Some((image_name, _)) = split_signature_name(&name) else {
            return Err(Error::bad_request(
                "ImageSignatures must be accessed with <imageName>@<signatureName>",
            ));
        };
        let mut image = self.images.get(image_name)?;
        let duplicate = image.signatures.iter().any(|existing| {
            existing.metadata.name_str() == name
                || (existing.type_ == signature.type_ && existing.content == signature.content)
        });
        if duplicate {
            return Err(Error::AlreadyExists {
                message: format!("imageSignatures.image.openshift.io \"{name}\" already exists"),
                details: Box::new(StatusDetails {
                    name: Some(name.clone()),
                    group: Some(crate::image::types::GROUP.to_string()),
                    kind: Some("imageSignatures".to_string()),
                    ..StatusDetails::default()
                }),
            });
        }
        signature
            .metadata
            .set_creation_time(Some(crate::Time::now()));
        image.signatures.push(signature);
        let stored = self
            .images
            .replace(image_name, &PostParams::default(), &image)?;
        stored
            .signatures
            .into_iter()
            .find(|s| s.metadata.name_str() == name)
            .ok_or_else(|| signature_not_found(&name))
    }

    /// Removes a signature from its image.
    pub fn delete(&self, name: &str) -> Result<Status> {
        let Some((image_name, _)) = split_signature_name(name) else {
            return Err(Error::bad_request(
                "ImageSignatures must be accessed with <imageName>@<signatureName>",
            ));
        };
        let mut image = self.images.get(image_name)?;
        let before = image.signatures.len();
        image.signatures.retain(|s| s.metadata.name_str() != name);
        if image.signatures.len() == before {
            return Err(signature_not_found(name));
        }
        self.images
            .replace(image_name, &PostParams::default(), &image)?;
        Ok(Status::success())
    }
}
