//! JSON request bodies, read with a size limit and parsed with errors a person can act on.

use rocket::data::{Data, FromData, Outcome, ToByteUnit};
use rocket::http::Status;
use rocket::Request;
use serde_json::{Map, Value};

use super::Hub;
use crate::error::Error;

/// A JSON object body.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

#[rocket::async_trait]
impl<'r> FromData<'r> for JsonObject {
    type Error = Error;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        let limit = req
            .rocket()
            .state::<Hub>()
            .map_or(256 * 1024, |h| h.config.limits.json_body);
        let bytes = match data.open(limit.bytes()).into_bytes().await {
            Ok(b) if b.is_complete() => b.into_inner(),
            Ok(_) => {
                return Outcome::Error((
                    Status::PayloadTooLarge,
                    Error::TooLarge(format!("the request body is larger than {limit} bytes")),
                ))
            }
            Err(e) => {
                return Outcome::Error((
                    Status::BadRequest,
                    Error::BadRequest(format!("the request body could not be read: {e}")),
                ))
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Outcome::Success(JsonObject(m)),
            Ok(_) => Outcome::Error((
                Status::BadRequest,
                Error::BadRequest("the body must be a JSON object".into()),
            )),
            Err(e) => Outcome::Error((
                Status::BadRequest,
                Error::BadRequest(format!("the body is not valid JSON: {e}")),
            )),
        }
    }
}
