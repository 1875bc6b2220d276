//! The assist core: what is sent to the model and how its answer becomes safe
//! edits. Pure: no protocol types, no network.
