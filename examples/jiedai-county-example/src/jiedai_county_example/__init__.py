"""××县（示例）的 jiedai_flow 插件包：插件在 :mod:`jiedai_county_example.plugin`。"""
