//! [`BootstrapBuilder`]: a bootstrap made in code.

use serde_json::Value;

use super::{Authority, Bootstrap, BootstrapError, CertificateProvider, Locality, Node, XdsServer};

/// Builds a [`Bootstrap`] in code, starting from one server reached in plaintext.
///
/// ```
/// # use mesh_xds::bootstrap::{Bootstrap, XdsServer};
/// let bootstrap = Bootstrap::builder("127.0.0.1:18000")
///     .node_id("test-client")
///     .server_features(["ignore_resource_deletion"])
///     .add_server(XdsServer::insecure("127.0.0.1:18001"))
///     .build()?;
/// assert_eq!(bootstrap.xds_servers[0].endpoint_uri(), "http://127.0.0.1:18000");
/// assert_eq!(bootstrap.client_listener_name("xds:///echo:8080")?, "echo:8080");
/// # Ok::<(), mesh_xds::bootstrap::BootstrapError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .build() to get the Bootstrap"]
pub struct BootstrapBuilder {
    bootstrap: Bootstrap,
}

impl BootstrapBuilder {
    pub(super) fn new(server_uri: String) -> Self {
        Self {
            bootstrap: Bootstrap {
                xds_servers: vec![XdsServer::insecure(server_uri)],
                node: Node::default(),
                certificate_providers: Default::default(),
                server_listener_resource_name_template: None,
                client_default_listener_resource_name_template: None,
                authorities: Default::default(),
            },
        }
    }

    /// Sets `node.id`.
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.bootstrap.node.id = id.into();
        self
    }

    /// Sets `node.cluster`.
    pub fn node_cluster(mut self, cluster: impl Into<String>) -> Self {
        self.bootstrap.node.cluster = cluster.into();
        self
    }

    /// Sets `node.locality`.
    pub fn locality(mut self, locality: Locality) -> Self {
        self.bootstrap.node.locality = Some(locality);
        self
    }

    /// Adds an entry to `node.metadata`.
    pub fn node_metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.bootstrap.node.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the `server_features` of the first (primary) server.
    pub fn server_features<I, S>(mut self, features: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Some(primary) = self.bootstrap.xds_servers.first_mut() {
            primary.server_features = features.into_iter().map(Into::into).collect();
        }
        self
    }

    /// Appends a server after those already there (a lower-priority fallback, gRFC A71).
    pub fn add_server(mut self, server: XdsServer) -> Self {
        self.bootstrap.xds_servers.push(server);
        self
    }

    /// Adds a certificate provider instance.
    pub fn certificate_provider(mut self, instance: impl Into<String>, provider: CertificateProvider) -> Self {
        self.bootstrap.certificate_providers.insert(instance.into(), provider);
        self
    }

    /// Sets `server_listener_resource_name_template`.
    pub fn server_listener_resource_name_template(mut self, template: impl Into<String>) -> Self {
        self.bootstrap.server_listener_resource_name_template = Some(template.into());
        self
    }

    /// Sets `client_default_listener_resource_name_template`.
    pub fn client_default_listener_resource_name_template(mut self, template: impl Into<String>) -> Self {
        self.bootstrap.client_default_listener_resource_name_template = Some(template.into());
        self
    }

    /// Adds an entry to `authorities`.
    pub fn authority(mut self, name: impl Into<String>, authority: Authority) -> Self {
        self.bootstrap.authorities.insert(name.into(), authority);
        self
    }

    /// Validates with the same rules as a loaded bootstrap (errors name the source `Bootstrap::builder`).
    pub fn build(self) -> Result<Bootstrap, BootstrapError> {
        Bootstrap::from_value(&self.bootstrap.to_json(), "Bootstrap::builder")
    }
}
