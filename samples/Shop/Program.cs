using Mesh.Samples.Shop;

// One binary, three services: `shop --service catalog --version v2 --urls http://127.0.0.1:8080`.
var options = ShopOptions.FromArgs(args);
await using var app = ShopApp.Build(options);
await app.RunAsync();
