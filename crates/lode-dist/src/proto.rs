//! Lode's cluster wire types and services, generated from `proto/lode/v1/cluster.proto`.
#![allow(clippy::all, missing_docs)]

tonic::include_proto!("lode.v1");
