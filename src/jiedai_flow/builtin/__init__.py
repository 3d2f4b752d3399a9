"""Built-in plugins, registered by :func:`jiedai_flow.plugins.make_plugin_manager` exactly like
installed ones and marked ``trylast`` so any installed plugin overrides them."""
