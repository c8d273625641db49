//! The wit-bindgen output for the three worlds of `vatswim:plugin@0.1.0`.
//!
//! Plugin authors do not use this module directly: the traits and macros of
//! the crate root wrap it. The `types` and `host` interfaces are generated
//! once (with the detector world) and shared by the other two worlds, so one
//! `Flight` type serves every kind of plugin.

#[allow(missing_docs, clippy::all)]
pub mod detector {
    wit_bindgen::generate!({
        world: "detector",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_detector_world",
        default_bindings_module: "::vatswim_plugin_api::bindings::detector",
        runtime_path: "::vatswim_plugin_api::__private::wit_bindgen::rt",
        generate_all,
    });
}

#[allow(missing_docs, clippy::all)]
pub mod ingest_adapter {
    wit_bindgen::generate!({
        world: "ingest-adapter",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_ingest_adapter_world",
        default_bindings_module: "::vatswim_plugin_api::bindings::ingest_adapter",
        runtime_path: "::vatswim_plugin_api::__private::wit_bindgen::rt",
        with: {
            "vatswim:plugin/types@0.1.0": crate::bindings::detector::vatswim::plugin::types,
            "vatswim:plugin/host@0.1.0": crate::bindings::detector::vatswim::plugin::host,
        },
    });
}

#[allow(missing_docs, clippy::all)]
pub mod subscription_filter {
    wit_bindgen::generate!({
        world: "subscription-filter",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_subscription_filter_world",
        default_bindings_module: "::vatswim_plugin_api::bindings::subscription_filter",
        runtime_path: "::vatswim_plugin_api::__private::wit_bindgen::rt",
        with: {
            "vatswim:plugin/types@0.1.0": crate::bindings::detector::vatswim::plugin::types,
            "vatswim:plugin/host@0.1.0": crate::bindings::detector::vatswim::plugin::host,
        },
    });
}
