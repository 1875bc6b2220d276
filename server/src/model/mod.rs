//! The Responses API client: the one path to the model.
